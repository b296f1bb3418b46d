"""Run a batch through the response store (the subprocess that test_resume kills and restarts)."""

from __future__ import annotations

import json
import sys

from fmops.models import GenerateConfig, GenerateRequest, get_model


def main() -> None:
    base_url, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    model = get_model("openai/test-model", [f"base_url={base_url}", "max_concurrency=4"])
    requests = [
        GenerateRequest(prompt=f"record {i} of the batch", config=GenerateConfig(max_tokens=4, logprobs=True))
        for i in range(count)
    ]
    results = model.generate_sync(requests, progress=lambda done, total: print(f"DONE {done}", flush=True))
    keep = {
        "text",
        "finish_reason",
        "logprob",
        "token_logprobs",
        "input_tokens",
        "output_tokens",
        "token_source",
        "error",
    }
    with open(out, "w", encoding="utf-8") as fh:
        json.dump([r.model_dump(mode="json", include=keep) for r in results], fh)
    print(f"SUMMARY cached={results.summary.cached} calls={results.summary.calls}", flush=True)


if __name__ == "__main__":
    main()
