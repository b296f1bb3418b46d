"""Registry and pipeline overheads, on the embedded default (SQLite in a temporary FMOPS_HOME, echo models).

    .venv/bin/python bench/bench_registry_pipelines.py [--versions 200] [--records 200]

Prints: registry writes per second (register, promote) and reads (resolve `registry:NAME@ALIAS`), and a
pipeline of 6 steps (2 evaluations of `--records` records, a gate, register, approve, promote): the first
run, then the unchanged re-run (all cache hits), which is what `fmops pipeline run` costs when nothing changed.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

PIPELINE = """\
name: bench
params: {{dataset: qa.jsonl}}
steps:
  - id: base
    type: evaluate
    with: {{model: echo/base, dataset: "${{params.dataset}}", locations: {loc}, num_records: all}}
  - id: cand
    type: evaluate
    with: {{model: echo/cand, dataset: "${{params.dataset}}", locations: {loc}, num_records: all,
           prompt_template: "$model_input $target_output"}}
  - id: gate
    type: condition
    with: {{candidate: "${{steps.cand.outputs.run}}", baseline: "${{steps.base.outputs.run}}",
           rules: [{{metric: factual_knowledge}}]}}
  - id: register
    type: register
    needs: [gate]
    with: {{name: bench, model: echo/cand}}
  - id: approve
    type: approve
    with: {{name: bench, version: "${{steps.register.outputs.version}}", mode: auto}}
  - id: promote
    type: promote
    needs: [approve]
    with: {{name: bench, version: "${{steps.register.outputs.version}}", alias: production}}
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--records", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["FMOPS_HOME"] = home
        from fmops.models import parse_model_spec
        from fmops.pipelines import load_pipeline, run_pipeline
        from fmops.registry import model_registry, register_model

        registry = model_registry()
        started = time.perf_counter()
        for i in range(args.versions):
            register_model("m", f"echo/v{i}")
        register_s = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(1, args.versions + 1):
            registry.promote("m", i, "production")
        promote_s = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(args.versions):
            parse_model_spec("registry:m@production")
        resolve_s = time.perf_counter() - started
        n = args.versions
        print(
            f"registry (SQLite): register {n / register_s:.0f}/s, promote {n / promote_s:.0f}/s, "
            f"resolve registry:NAME@ALIAS {n / resolve_s:.0f}/s"
        )

        folder = Path(home) / "pipe"
        folder.mkdir()
        rows = [{"q": f"What is item {i}?", "a": f"ans{i}"} for i in range(args.records)]
        (folder / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        path = folder / "p.yaml"
        path.write_text(PIPELINE.format(loc="{model_input: q, target_output: a}"))
        started = time.perf_counter()
        first = run_pipeline(load_pipeline(path))
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = run_pipeline(load_pipeline(path))
        again_s = time.perf_counter() - started
        assert first.status == again.status == "succeeded"
        assert {s.status for s in again.steps} == {"cached"}
        print(
            f"pipeline (6 steps, 2 x {args.records} records): first run {first_s:.2f} s, "
            f"unchanged re-run {again_s:.3f} s (all cache hits)"
        )


if __name__ == "__main__":
    main()
