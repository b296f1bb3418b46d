"""Run a fine-tuning job: check everything, train on TRL's SFTTrainer (+ PEFT), save, record, evaluate.

Order matters: data and hyperparameters are checked before the model loads, the model before training;
the run is recorded as it goes; `finetuned.json` is written last, so a killed job leaves checkpoints
and no half model. Running the same job again resumes from its last checkpoint.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

import fmops
from fmops.core.errors import BadInputError, FmopsError, MissingDependencyError, RunError
from fmops.customization._artifacts import FinetunedInfo, model_dir, write_finetuned
from fmops.customization._base import BaseDefaults, BaseInfo, defaults_for, resolve_base
from fmops.customization._data import TrainingData, check_lengths, read_training_data
from fmops.customization._data_parallel import NullRecorder, Ranks
from fmops.customization._experiments import ExperimentRecorder
from fmops.customization._job import FinetuneJob
from fmops.customization._provenance import data_entry, hardware, versions
from fmops.customization._records import as_trainer_records, load_tokenizer, token_counter
from fmops.customization._run_folder import (
    cached_replay,
    last_checkpoint,
    prepare_folder,
    saved_run_id,
    write_loss_curve,
    write_state,
)
from fmops.customization._scoped_settings import deterministic, quiet_datasets


class FinetuneResult(BaseModel):
    """What a job produced."""

    model_config = ConfigDict(frozen=True)

    model_spec: str
    run_id: str
    output_dir: Path
    adapter_path: Path | None
    merged_path: Path | None
    comparison_path: Path | None
    #: "new domain facts 0.02 -> 0.93 (+0.91, p<0.001)" lines of the automatic comparison.
    comparison_summary: list[str]
    metrics: dict[str, float]
    steps: int
    resumed_from_step: int | None
    tokens_per_second: float | None
    duration_s: float
    mlflow_run_id: str | None = None


class Interrupted(FmopsError):
    """Ctrl-C: a checkpoint was saved; the same command resumes."""

    exit_code = 130


EventFn = Callable[[str], None]


def run_finetune(
    job: FinetuneJob,
    *,
    on_event: EventFn | None = None,
    on_progress: Callable[[Any], None] | None = None,
    callbacks: Sequence[Any] = (),
    store_url: str | None = None,
) -> FinetuneResult:
    """Train `job` into `finetuned/NAME`; `on_event(message)` for stages, `on_progress(TrainingProgress)`
    per step; `callbacks` are extra transformers TrainerCallbacks."""
    say = on_event or (lambda _message: None)
    started = time.perf_counter()
    _check_method(job)
    ranks = Ranks()
    if not ranks.main:  # one process speaks for a data-parallel job
        say, on_progress = (lambda _message: None), None
    train = read_training_data(job.data, job.data_format, template=job.template)
    evaluation = (
        read_training_data(job.eval_data, job.data_format, template=job.template) if job.eval_data else None
    )
    hp = job.hyperparameters
    if hp.early_stopping_patience and evaluation is None:
        raise BadInputError(
            "early_stopping_patience needs --eval-data (it stops when the eval loss stops improving)"
        )
    if evaluation is not None and evaluation.kind != train.kind:
        raise BadInputError(
            f"{evaluation.path}: {evaluation.format} records, but the training data is {train.format}; use one format"
        )
    say(f"data: {len(train.records)} {train.format} records from {train.path}")
    base = resolve_base(job.base)
    defaults = defaults_for(base)
    tokenizer = load_tokenizer(base.folder)
    counter = token_counter(tokenizer, base.chat)
    train = check_lengths(train, counter, hp.max_seq_length, hp.overlong)
    if evaluation is not None:
        evaluation = check_lengths(evaluation, counter, hp.max_seq_length, hp.overlong)

    out = model_dir(job.output)
    kind = "text" if job.method == "continued-pretraining" else train.kind
    records = as_trainer_records(train.records, kind, chat=base.chat)
    params = _effective_params(job, defaults)
    if ranks.main:
        resume_step, run_id = prepare_folder(out, job, train, evaluation, base)
        ratio = params["replay_ratio"]
        replay = cached_replay(out, base, defaults, round(ratio * len(records)), kind, hp.seed)
        if replay:
            say(
                f"replay: {len(replay)} records of what {base.spec} knew ({defaults.replay_source}), mixed in"
            )
        recorder = ExperimentRecorder(store_url)
        run_id = recorder.start(
            run_id=run_id,
            name=job.output,
            base=job.base,
            method=job.method,
            params=params,
            data_files=[
                data_entry(d, role) for d, role in ((train, "train"), (evaluation, "eval")) if d is not None
            ],
            base_fingerprint=base.fingerprint,
            hardware={**hardware(), "processes": ranks.world},
            versions=versions(),
            model_spec=job.model_spec,
        )
        write_state(out, run_id)
        if resume_step:
            recorder.forget_after(run_id, resume_step)
            say(f"resuming run {run_id} from its checkpoint at step {resume_step}")
        else:
            say(f"run {run_id}: {job.method} on {base.spec} -> {job.model_spec}")
    ranks.wait()  # other processes of a data-parallel job read what the main one prepared
    if not ranks.main:
        resume_step = last_checkpoint(out / "checkpoints")
        replay = cached_replay(out, base, defaults, 0, kind, hp.seed)
        run_id = saved_run_id(out)
        recorder = NullRecorder()
    try:
        outcome = _train(
            job,
            base,
            defaults,
            tokenizer,
            records + replay,
            evaluation,
            kind,
            out,
            params,
            recorder,
            run_id,
            resume_step,
            on_progress,
            callbacks,
        )
    except Interrupted as exc:
        recorder.finish(run_id, "interrupted", error=str(exc), duration_s=time.perf_counter() - started)
        raise
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"  # a second Ctrl-C
        recorder.finish(
            run_id, status, error=str(exc) or type(exc).__name__, duration_s=time.perf_counter() - started
        )
        raise
    adapter_path, merged_path, metrics, steps, tokens_per_second = outcome
    if not ranks.main:  # the main process saves, records and evaluates
        return FinetuneResult(
            model_spec=job.model_spec,
            run_id=run_id,
            output_dir=out,
            adapter_path=adapter_path,
            merged_path=merged_path,
            comparison_path=None,
            comparison_summary=[],
            metrics=metrics,
            steps=steps,
            resumed_from_step=resume_step,
            tokens_per_second=tokens_per_second,
            duration_s=time.perf_counter() - started,
        )
    meta = FinetunedInfo(
        name=job.output,
        base=job.base,
        base_folder=str(base.folder),
        base_fingerprint=base.fingerprint,
        method=job.method,
        run_id=run_id,
        adapter=adapter_path.name if adapter_path else None,
        merged=merged_path.name if merged_path else None,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        fmops_version=fmops.__version__,
        chat=base.chat,
        start_token=base.start_token,
    )
    write_finetuned(out, meta)
    say(f"saved {job.model_spec} in {out}")
    artefacts = {
        "folder": str(out),
        "adapter": str(adapter_path) if adapter_path else None,
        "model": str(merged_path) if merged_path else None,
        "loss_curve": str(out / "loss_curve.json"),
    }
    mlflow_run_id = None
    tracking = job.mlflow or os.environ.get("MLFLOW_TRACKING_URI")
    if tracking:
        from fmops.customization._mlflow import log_to_mlflow

        mlflow_run_id = log_to_mlflow(
            tracking, run_id, job, params, recorder_url=store_url, artefact_dir=adapter_path or merged_path
        )
        say(f"mlflow: logged run {mlflow_run_id} to {tracking}")
    comparison_path, summary = None, []
    if job.evaluate:
        from fmops.customization._evaluate import evaluate_against_base

        try:
            comparison_path, summary = evaluate_against_base(job, base, out / "evaluation", say)
        except BaseException as exc:
            recorder.finish(
                run_id,
                "failed",
                error=f"evaluation: {exc}",
                final_metrics=metrics,
                artefacts=artefacts,
                duration_s=time.perf_counter() - started,
            )
            raise
        artefacts["comparison"] = str(comparison_path)
    duration = time.perf_counter() - started
    metrics = {**metrics, "tokens_per_second": tokens_per_second} if tokens_per_second else metrics
    recorder.finish(
        run_id,
        "completed",
        final_metrics=metrics,
        artefacts=artefacts,
        comparison_path=str(comparison_path) if comparison_path else None,
        duration_s=round(duration, 3),
    )
    return FinetuneResult(
        model_spec=job.model_spec,
        run_id=run_id,
        output_dir=out,
        adapter_path=adapter_path,
        merged_path=merged_path,
        comparison_path=comparison_path,
        comparison_summary=summary,
        metrics=metrics,
        steps=steps,
        resumed_from_step=resume_step,
        tokens_per_second=tokens_per_second,
        duration_s=duration,
        mlflow_run_id=mlflow_run_id,
    )


# -- checks before training ------------------------------------------------------------------------
def _check_method(job: FinetuneJob) -> None:
    if job.method != "qlora":
        return
    missing = []
    try:
        import torch

        if not torch.cuda.is_available():
            missing.append("a CUDA GPU (this machine has none)")
    except ImportError:
        raise MissingDependencyError("torch", "hf", "Fine-tuning") from None
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        missing.append("the bitsandbytes package (pip install bitsandbytes)")
    if missing:
        raise BadInputError(
            f"--method qlora needs {' and '.join(missing)}; on a CPU use --method lora (same adapters, 32-bit base)"
        )


def _effective_params(job: FinetuneJob, defaults: BaseDefaults) -> dict[str, Any]:
    hp = job.hyperparameters
    values = hp.model_dump(mode="json")
    values["learning_rate"] = hp.learning_rate or defaults.learning_rate
    values["lora_r"] = hp.lora_r or defaults.lora_r
    values["lora_alpha"] = hp.lora_alpha or (2 * hp.lora_r if hp.lora_r else defaults.lora_alpha)
    targets = hp.target_modules or defaults.target_modules
    values["target_modules"] = "all-linear" if targets == ["all-linear"] else targets  # PEFT's keyword
    values["completion_only_loss"] = (
        hp.completion_only_loss if hp.completion_only_loss is not None else defaults.completion_only_loss
    )
    values["replay_ratio"] = hp.replay_ratio if hp.replay_ratio is not None else defaults.replay_ratio
    values["replay_source"] = defaults.replay_source
    values["method"] = job.method
    values["packing"] = hp.packing or job.method == "continued-pretraining"
    return values


# -- training ----------------------------------------------------------------------------------------
def _train(
    job: FinetuneJob,
    base: BaseInfo,
    defaults: BaseDefaults,
    tokenizer: Any,
    records: list[dict[str, Any]],
    evaluation: TrainingData | None,
    kind: str,
    out: Path,
    params: dict[str, Any],
    recorder: ExperimentRecorder,
    run_id: str,
    resume_step: int | None,
    on_progress: Callable[[Any], None] | None,
    extra_callbacks: Sequence[Any],
) -> tuple[Path | None, Path | None, dict[str, float], int, float | None]:
    """(adapter folder, full-weights folder, final metrics, steps, tokens/s)."""
    from fmops.core.optional import one_model_load_at_a_time, torch_and_transformers

    torch, transformers = torch_and_transformers("Fine-tuning")
    try:
        from datasets import Dataset
        from trl import SFTConfig, SFTTrainer
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "trl", "hf", "Fine-tuning") from None
    from fmops.customization._callbacks import InterruptCallback, ProgressCallback, RecordCallback

    hp = job.hyperparameters
    cuda = torch.cuda.is_available()
    bf16 = bool(cuda and torch.cuda.is_bf16_supported())
    uses_adapter = job.method in ("lora", "qlora") or (
        job.method == "continued-pretraining" and hp.lora_r is not None
    )
    load_args: dict[str, Any] = {"dtype": torch.float32}
    if job.method == "qlora":
        load_args["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
        )
    with one_model_load_at_a_time():
        model = transformers.AutoModelForCausalLM.from_pretrained(
            str(base.folder), local_files_only=True, **load_args
        )
    peft_config = None
    if uses_adapter:
        from peft import LoraConfig

        if job.method == "qlora":
            from peft import prepare_model_for_kbit_training

            model = prepare_model_for_kbit_training(model)
        peft_config = LoraConfig(
            r=params["lora_r"],
            lora_alpha=params["lora_alpha"],
            lora_dropout=hp.lora_dropout,
            target_modules=params["target_modules"],
            task_type="CAUSAL_LM",
        )
    eval_records = (
        as_trainer_records(evaluation.records, kind, chat=base.chat) if evaluation is not None else None
    )
    checkpoints = out / "checkpoints"
    eval_steps = hp.eval_steps or hp.save_steps
    if hp.early_stopping_patience and hp.save_steps % eval_steps:
        raise BadInputError(
            f"save_steps {hp.save_steps} must be a multiple of eval_steps {eval_steps} for early stopping"
        )
    completion_only = params["completion_only_loss"] if kind != "text" else None
    config = SFTConfig(
        output_dir=str(checkpoints),
        num_train_epochs=hp.epochs,
        max_steps=hp.max_steps or -1,
        learning_rate=params["learning_rate"],
        per_device_train_batch_size=hp.batch_size,
        per_device_eval_batch_size=hp.batch_size,
        gradient_accumulation_steps=hp.gradient_accumulation_steps,
        warmup_steps=hp.warmup_ratio,  # transformers 5: a float below 1 is a share of the steps
        weight_decay=hp.weight_decay,
        seed=hp.seed,
        data_seed=hp.seed,
        max_length=hp.max_seq_length,
        packing=params["packing"],
        completion_only_loss=completion_only,
        logging_steps=hp.logging_steps,
        save_strategy="steps",
        save_steps=hp.save_steps,
        save_total_limit=3,
        eval_strategy="steps" if eval_records else "no",
        eval_steps=eval_steps if eval_records else None,
        load_best_model_at_end=bool(hp.early_stopping_patience),
        metric_for_best_model="eval_loss" if hp.early_stopping_patience else None,
        greater_is_better=False if hp.early_stopping_patience else None,
        bf16=bf16,
        fp16=False,
        use_cpu=not cuda,
        activation_checkpointing=False,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataset_num_proc=None,
    )
    progress = ProgressCallback(on_progress)
    record = RecordCallback(recorder, run_id, lambda step: str(checkpoints / f"checkpoint-{step}"))
    interrupt = InterruptCallback()
    callbacks: list[Any] = [progress, record, interrupt, *extra_callbacks]
    if hp.early_stopping_patience:
        callbacks.append(
            transformers.EarlyStoppingCallback(early_stopping_patience=hp.early_stopping_patience)
        )
    with quiet_datasets(), warnings.catch_warnings():
        # PEFT notes that GPT-2's Conv1D layers need fan_in_fan_out, then sets it itself.
        warnings.filterwarnings("ignore", message="fan_in_fan_out", category=UserWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=Dataset.from_list(records),
            eval_dataset=Dataset.from_list(eval_records) if eval_records else None,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=callbacks,
        )
    trainer.remove_callback(transformers.PrinterCallback)  # progress goes through on_progress instead
    interrupt.install()
    try:
        with deterministic(torch), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            trainer.train(
                resume_from_checkpoint=str(checkpoints / f"checkpoint-{resume_step}") if resume_step else None
            )
    finally:
        interrupt.uninstall()
        record.flush()  # what a failed run logged stays on its record
    if interrupt.interrupted:
        raise Interrupted(
            f"interrupted at step {trainer.state.global_step}: checkpoint saved in {checkpoints}; "
            "run the same command again to resume"
        )
    write_loss_curve(out / "loss_curve.json", trainer.state.log_history)
    adapter_path = merged_path = None
    trained = trainer.model
    if not trainer.is_world_process_zero():
        adapter_path, merged_path = (out / "adapter", None) if uses_adapter else (None, out / "model")
    elif uses_adapter:
        adapter_path = out / "adapter"
        trained.save_pretrained(str(adapter_path))
        tokenizer.save_pretrained(str(adapter_path))
        if job.merge:
            merged_path = out / "model"
            trained.merge_and_unload().save_pretrained(str(merged_path))
            tokenizer.save_pretrained(str(merged_path))
    else:
        merged_path = out / "model"
        trained.save_pretrained(str(merged_path))
        tokenizer.save_pretrained(str(merged_path))
    metrics = {k: round(v, 6) for k, v in record.last.items()}
    return adapter_path, merged_path, metrics, trainer.state.global_step, progress.tokens_per_second


__all__ = ["FinetuneResult", "Interrupted", "RunError", "run_finetune"]
