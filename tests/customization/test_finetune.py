"""Fine-tuning end to end on a tiny GPT-2: every method, the model spec it makes, the run it records."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")

from fmops.comparison import read_comparison
from fmops.core.errors import BadInputError
from fmops.customization import FinetuneJob, get_run, list_runs, read_finetuned, run_finetune
from fmops.models import GenerateConfig, GenerateRequest, ScoreRequest, get_model
from tests.customization.conftest import write_jsonl

STEPS = {"max_steps": 8, "save_steps": 4, "batch_size": 4, "learning_rate": 0.02}


def _logprob(spec: str, prefix: str, text: str) -> float:
    model = get_model(spec, store=False)
    try:
        return model.score_sync([ScoreRequest(prefix=prefix, text=text)])[0].logprob
    finally:
        model.close()


def test_lora_makes_an_adapter_spec_that_learned_and_a_complete_run(tiny_base: str, qa_data: Path) -> None:
    events: list[str] = []
    progress: list = []
    job = FinetuneJob(base=tiny_base, data=qa_data, output="qa", hyperparameters=STEPS, evaluate=False)
    result = run_finetune(job, on_event=events.append, on_progress=progress.append)

    assert result.model_spec == "finetuned/qa" and result.steps == 8
    assert result.adapter_path is not None and (result.adapter_path / "adapter_config.json").is_file()
    assert result.merged_path is None and not (result.output_dir / "model").exists()
    meta = read_finetuned("qa")
    assert meta.adapter == "adapter" and meta.base == tiny_base and meta.run_id == result.run_id
    # The adapter loads on its base and has learned the answers it was trained on.
    assert (
        _logprob("finetuned/qa", "Code of item 1:", " c1") > _logprob(tiny_base, "Code of item 1:", " c1") + 1
    )
    model = get_model("finetuned/qa", store=False)
    answer = model.generate_sync(
        [GenerateRequest(prompt="Code of item 2:", config=GenerateConfig(max_tokens=3))]
    )
    assert answer[0].error is None and model.name == "finetuned/qa"
    assert [p.step for p in progress] == list(range(1, 9)) and progress[-1].tokens_per_second > 0
    assert progress[0].loss is not None and progress[0].learning_rate == pytest.approx(0.02)

    run = get_run(result.run_id)
    assert run.status == "completed" and run.method == "lora" and run.base == tiny_base
    assert run.params["lora_r"] == 16 and run.params["target_modules"] == ["c_attn", "c_fc", "c_proj"]
    assert run.data_files[0]["sha256"] == __import__("hashlib").sha256(qa_data.read_bytes()).hexdigest()
    assert run.base_fingerprint and run.hardware["cpus"] and run.versions["trl"] and run.versions["peft"]
    assert [step for step, _ in run.metrics["loss"]] == list(range(1, 9))
    assert run.metrics["loss"][-1][1] < run.metrics["loss"][0][1]
    assert [c["step"] for c in run.checkpoints] == [4, 8]
    assert run.final_metrics["train_loss"] > 0 and run.duration_s is not None
    curve = json.loads((result.output_dir / "loss_curve.json").read_text())
    assert len(curve["train"]) == 8
    assert any("run " in e for e in events)


def test_merge_writes_a_full_model_that_scores_like_the_adapter(tiny_base: str, qa_data: Path) -> None:
    job = FinetuneJob(
        base=tiny_base, data=qa_data, output="merged", hyperparameters=STEPS, merge=True, evaluate=False
    )
    result = run_finetune(job)
    assert result.adapter_path is not None and result.merged_path is not None
    assert (result.merged_path / "config.json").is_file() and (
        result.merged_path / "tokenizer.json"
    ).is_file()
    assert read_finetuned("merged").merged == "model"
    merged = _logprob(f"hf/{result.merged_path}", "Code of item 3:", " c3")
    adapter = _logprob(f"hf/{tiny_base.removeprefix('hf/')}", "Code of item 3:", " c3")
    loaded = get_model(tiny_base, {"adapter": str(result.adapter_path), "merge_adapter": False}, store=False)
    on_base = loaded.score_sync([ScoreRequest(prefix="Code of item 3:", text=" c3")])[0].logprob
    assert merged == pytest.approx(on_base, abs=1e-3) and merged != pytest.approx(adapter, abs=1e-3)


@pytest.mark.parametrize("method", ["full", "continued-pretraining"])
def test_full_weights_methods_write_a_model_folder(tiny_base: str, tmp_path: Path, method: str) -> None:
    data = tmp_path / "corpus.txt"
    data.write_text(
        "The quick brown fox jumps over the lazy dog.\n\nA model answers questions about the world.\n"
    )
    job = FinetuneJob(
        base=tiny_base,
        data=data,
        output=f"m-{method}",
        method=method,
        evaluate=False,
        hyperparameters={"max_steps": 2, "save_steps": 2, "batch_size": 2},
    )
    result = run_finetune(job)
    assert result.adapter_path is None and (result.merged_path / "model.safetensors").is_file()
    run = get_run(result.run_id)
    assert run.params["packing"] is (method == "continued-pretraining")
    assert run.data_files[0]["format"] == "text"
    request = GenerateRequest(prompt="The quick", config=GenerateConfig(max_tokens=4))
    assert get_model(result.model_spec, store=False).generate_sync([request])[0].error is None


def test_chat_records_train_on_the_last_assistant_turn(tiny_base: str, tmp_path: Path) -> None:
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"Code of item {i}?"},
                {"role": "assistant", "content": f"c{i}"},
            ]
        }
        for i in range(8)
    ]
    job = FinetuneJob(
        base=tiny_base,
        data=write_jsonl(tmp_path / "chat.jsonl", rows),
        output="chat",
        hyperparameters={"max_steps": 2, "save_steps": 2, "batch_size": 4},
        evaluate=False,
    )
    result = run_finetune(job)
    assert get_run(result.run_id).data_files[0]["format"] == "chat"
    assert result.metrics["train_loss"] > 0


def test_the_new_model_is_compared_with_its_base_on_the_same_records(
    tiny_base: str, qa_data: Path, tmp_path: Path
) -> None:
    eval_data = write_jsonl(
        tmp_path / "held_out_codes.jsonl",
        ({"prompt": f"Code of item {i}:", "completion": f" c{i % 4}"} for i in range(16, 24)),
    )
    job = FinetuneJob(
        base=tiny_base,
        data=qa_data,
        eval_data=eval_data,
        output="cmp",
        hyperparameters={**STEPS, "eval_steps": 4, "early_stopping_patience": 5},
        eval_records=8,
    )
    result = run_finetune(job)
    comparison = read_comparison(result.comparison_path)
    assert [m.name for m in comparison.models] == [tiny_base, "finetuned/cmp"]
    assert [e.id for e in comparison.suite.evaluations] == ["held out codes", "general facts"]
    line = re.compile(
        r"^(held out codes|general facts) \d\.\d\d -> \d\.\d\d \([+-]\d\.\d\d, (p<0\.001|p=\d\.\d{3}|within noise)\)$"
    )
    assert len(result.comparison_summary) == 2 and all(line.match(x) for x in result.comparison_summary)
    run = get_run(result.run_id)
    assert "eval_loss" in run.metrics and run.comparison_path == str(result.comparison_path)
    assert run.artefacts["comparison"] == str(result.comparison_path)


def test_an_existing_model_needs_overwrite(tiny_base: str, qa_data: Path) -> None:
    job = FinetuneJob(
        base=tiny_base, data=qa_data, output="once", hyperparameters={"max_steps": 1}, evaluate=False
    )
    first = run_finetune(job)
    with pytest.raises(BadInputError, match="finetuned/once already exists"):
        run_finetune(job)
    second = run_finetune(job.model_copy(update={"overwrite": True}))
    assert second.run_id != first.run_id
    assert [r.id for r in list_runs()] == [second.run_id, first.run_id]


def test_qlora_on_a_cpu_says_what_is_missing(tiny_base: str, qa_data: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: qlora may run")
    job = FinetuneJob(base=tiny_base, data=qa_data, output="q", method="qlora")
    with pytest.raises(
        BadInputError, match=r"--method qlora needs a CUDA GPU \(this machine has none\).*--method lora"
    ):
        run_finetune(job)


def test_early_stopping_needs_eval_data(tiny_base: str, qa_data: Path) -> None:
    job = FinetuneJob(
        base=tiny_base, data=qa_data, output="es", hyperparameters={"early_stopping_patience": 2}
    )
    with pytest.raises(BadInputError, match="early_stopping_patience needs --eval-data"):
        run_finetune(job)


@pytest.mark.parametrize("chat", [True, False])
def test_prompt_completion_records_train_as_the_base_is_prompted(
    tiny_base: str, qa_data: Path, chat: bool
) -> None:
    """A base whose plain prompts go through its chat template (here a registry version with chat=true)
    trains on templated prompts with the loss on the answer only, and its fine-tuned model is prompted
    the same way; a plain base trains on the raw prompt + completion."""
    from transformers import TrainerCallback

    from fmops.registry import model_registry, register_model

    version = register_model("tiny", tiny_base, args={"chat": chat})
    model_registry().promote("tiny", version.version, "production")
    seen: list[tuple[str, str]] = []

    class FirstBatch(TrainerCallback):
        def on_train_begin(self, args, state, control, train_dataloader=None, processing_class=None, **kw):  # type: ignore[no-untyped-def]
            batch = next(iter(train_dataloader))
            for ids, labels in zip(batch["input_ids"], batch["labels"], strict=True):
                text = processing_class.decode(ids, skip_special_tokens=True)
                answer = processing_class.decode([t for t in labels.tolist() if t != -100])
                seen.append((text, answer))

    job = FinetuneJob(
        base="registry:tiny@production",
        data=qa_data,
        output="as-prompted",
        hyperparameters={"max_steps": 1, "save_steps": 1, "batch_size": 4},
        evaluate=False,
    )
    run_finetune(job, callbacks=[FirstBatch()])
    assert len(seen) == 4
    for text, answer in seen:
        if chat:
            assert re.fullmatch(r"<\|user\|>Code of item \d+:\n<\|assistant\|>c\d\n", text), text
            assert re.fullmatch(r"c\d\n(<\|endoftext\|>)?", answer), answer
        else:
            assert re.fullmatch(r"Code of item \d+: c\d", text), text
            assert re.fullmatch(r" c\d(<\|endoftext\|>)?", answer), answer
    assert read_finetuned("as-prompted").chat is chat
    model = get_model("finetuned/as-prompted", store=False)
    try:
        assert model.api.chat is chat
    finally:
        model.close()


def test_deterministic_training_does_not_fill_new_tensors() -> None:
    torch = pytest.importorskip("torch")
    from fmops.customization._scoped_settings import deterministic

    before = torch.utils.deterministic.fill_uninitialized_memory
    with deterministic(torch):
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.utils.deterministic.fill_uninitialized_memory is False
    assert torch.utils.deterministic.fill_uninitialized_memory is before
