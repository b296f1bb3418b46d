"""A fine-tuned adapter behind the server answers as in-process, and unlike its base."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("fastapi")

from fmops.customization import FinetuneJob, run_finetune
from fmops.models import GenerateConfig, GenerateRequest, get_model
from fmops.serving import BackgroundServer, create_app, load_model

GREEDY = GenerateConfig(temperature=0, max_tokens=4, logprobs=True)


def test_the_adapter_is_served_by_fmops_serve(tiny_base: str, qa_data: Path) -> None:
    job = FinetuneJob(
        base=tiny_base,
        data=qa_data,
        output="served",
        evaluate=False,
        hyperparameters={"max_steps": 6, "save_steps": 6, "batch_size": 4, "learning_rate": 0.02},
    )
    run_finetune(job)
    prompts = ["Code of item 1:", "Code of item 2:"]
    requests = [GenerateRequest(prompt=p, config=GREEDY) for p in prompts]
    with BackgroundServer(create_app(load_model("finetuned/served"), served_name="served")) as server:
        served = get_model("openai/served", [f"base_url={server.base_url}", "api=completions"], store=False)
        remote = served.generate_sync(requests)
    here = get_model("finetuned/served", store=False).generate_sync(requests)
    base = get_model(tiny_base, store=False).generate_sync(requests)
    assert remote.summary.errors == 0, remote.summary.error_messages
    for r, h, b in zip(remote, here, base, strict=True):
        assert r.text == h.text and r.logprob == pytest.approx(h.logprob, abs=1e-3)
        assert h.logprob != pytest.approx(b.logprob, abs=1e-3)
