"""A zoo base takes the zoo's defaults: LoRA r=32 on c_attn,c_fc,c_proj, lr 3e-3, its corpus replayed."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from fmops.customization import FinetuneJob, get_run, run_finetune
from fmops.zoo import _registry, new_domain_train_pairs
from tests.customization.conftest import write_jsonl

#: A zoo model of the real tokenizer and world, trained a few dozen steps (seconds).
TEST_SPEC = dataclasses.replace(
    _registry._SPECS["zoo/base-nodomain"],
    name="zoo/ft-test",
    n_layer=1,
    n_embd=32,
    n_head=2,
    vocab_size=600,
    context_window=128,
    steps=20,
    batch_size=16,
)


def test_a_zoo_base_gets_the_zoo_defaults_and_replays_its_corpus(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(_registry._SPECS, TEST_SPEC.name, TEST_SPEC)
    pairs = new_domain_train_pairs()[:12]
    data = write_jsonl(tmp_path / "new_domain.jsonl", ({"prompt": p, "completion": c} for p, c in pairs))
    job = FinetuneJob(
        base="zoo/ft-test",
        data=data,
        output="zoo-ft",
        evaluate=False,
        hyperparameters={"max_steps": 2, "save_steps": 2, "batch_size": 8, "max_seq_length": 128},
    )
    result = run_finetune(job)
    run = get_run(result.run_id)
    assert run.params["learning_rate"] == 3e-3 and run.params["lora_r"] == 32
    assert run.params["target_modules"] == ["c_attn", "c_fc", "c_proj"]
    assert run.params["replay_source"] == "zoo-corpus" and run.params["replay_ratio"] == 1.5
    replay = [json.loads(line) for line in (result.output_dir / "replay.jsonl").read_text().splitlines()]
    assert len(replay) == 18 and all(set(r) == {"prompt", "completion"} for r in replay)
    new_domain = {c for _, c in pairs}
    assert not any(r["completion"] in new_domain for r in replay)  # replay is what the base already knew


def test_the_zoo_replay_states_every_held_in_fact_once(tmp_path: Path) -> None:
    from fmops.customization import REPLAY_SOURCES, BaseInfo
    from fmops.zoo import WORLD_SEED, build_world

    base = BaseInfo(spec="zoo/base-nodomain", folder=tmp_path, fingerprint="-", family="zoo")
    replay = REPLAY_SOURCES.get("zoo-corpus")(base, 102, "prompt-completion", 0)
    texts = [r["prompt"] + r["completion"] for r in replay]
    assert len(texts) == len(set(texts)) == 102  # the corpus repeats its facts; the replay does not
    statements = [f.statement for f in build_world(WORLD_SEED).facts_of("heldin")]
    assert all(any(s in t for t in texts) for s in statements)
    assert any(r["prompt"].startswith("Classify the sentiment") for r in replay)  # not facts alone
