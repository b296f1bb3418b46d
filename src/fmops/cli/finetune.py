"""`fmops finetune BASE --data FILE --output NAME`: fine-tune, record the run, compare with the base."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from fmops.cli._common import user_errors


@user_errors
def finetune_command(
    base: Annotated[
        str | None,
        typer.Argument(help="Base model: zoo/NAME, hf/PATH, hf/HuggingFaceTB/SmolLM2-135M-Instruct, ..."),
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Training data: JSONL (prompt/completion, messages, text) or .txt.")
    ] = None,
    output: Annotated[
        str | None, typer.Option(help="Name of the new model: it becomes finetuned/NAME.")
    ] = None,
    method: Annotated[
        str | None, typer.Option(help="lora (default), qlora (GPU), full, or continued-pretraining.")
    ] = None,
    eval_data: Annotated[
        Path | None, typer.Option(help="Held-out records: eval loss, and the comparison.")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Job YAML (flags given here win).")] = None,
    data_format: Annotated[
        str | None,
        typer.Option(
            "--format", help="Data format if not detected: prompt-completion, chat, instruction, text."
        ),
    ] = None,
    template: Annotated[
        Path | None, typer.Option(help="JumpStart-style template.json for instruction records.")
    ] = None,
    epochs: Annotated[float | None, typer.Option(help="Passes over the data.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Optimizer steps (overrides --epochs).")] = None,
    learning_rate: Annotated[
        float | None, typer.Option(help="Peak learning rate (default: the base's).")
    ] = None,
    lora_r: Annotated[int | None, typer.Option(help="LoRA rank (default: the base's).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Records per step.")] = None,
    save_steps: Annotated[int | None, typer.Option(help="Save a checkpoint every N steps.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for initialisation and data order.")] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Any hyperparameter as KEY=VALUE (repeatable).")
    ] = None,
    merge: Annotated[
        bool, typer.Option("--merge", help="Also write the adapter merged into its base.")
    ] = False,
    mlflow: Annotated[
        str | None, typer.Option(help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI when set).")
    ] = None,
    no_eval: Annotated[bool, typer.Option("--no-eval", help="Skip the comparison with the base.")] = False,
    suite: Annotated[
        Path | None, typer.Option(help="Compare suite YAML to evaluate with (default: built in).")
    ] = None,
    eval_records: Annotated[
        int | None, typer.Option(min=1, help="Records per evaluation in the comparison.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing finetuned/NAME.")
    ] = False,
    ray_workers: Annotated[
        int | None, typer.Option(min=1, help="Train data-parallel on this many Ray Train workers.")
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster to join (default: $RAY_ADDRESS, else a local one).")
    ] = None,
    gpu: Annotated[bool, typer.Option("--gpu", help="One GPU per Ray worker.")] = False,
) -> None:
    """Fine-tune a local model; the result is finetuned/NAME, evaluated against its base."""
    from fmops.cli._common import parse_key_values
    from fmops.core.errors import BadInputError
    from fmops.customization import Hyperparameters, load_job, make_job, run_finetune
    from fmops.models import parse_model_args

    overrides: dict[str, Any] = {
        "base": base,
        "data": data,
        "output": output,
        "method": method,
        "eval_data": eval_data,
        "data_format": data_format,
        "template": template,
        "epochs": epochs,
        "max_steps": max_steps,
        "learning_rate": learning_rate,
        "lora_r": lora_r,
        "batch_size": batch_size,
        "save_steps": save_steps,
        "seed": seed,
        "mlflow": mlflow,
        "suite": suite,
        "eval_records": eval_records,
        **({"merge": True} if merge else {}),
        **({"evaluate": False} if no_eval else {}),
        **({"overwrite": True} if overwrite else {}),
    }
    extra = parse_model_args(f"{k}={v}" for k, v in parse_key_values(param, "--param").items())
    unknown = sorted(set(extra) - set(Hyperparameters.model_fields))
    if unknown:
        raise BadInputError(
            f"--param {unknown[0]}: not a hyperparameter; known: {', '.join(Hyperparameters.model_fields)}"
        )
    overrides.update(extra)
    if config is not None:
        job = load_job(config, **overrides)
    else:
        missing = [
            flag for flag, value in (("BASE", base), ("--data", data), ("--output", output)) if value is None
        ]
        if missing:
            raise BadInputError(f"missing {', '.join(missing)} (or give them in --config job.yaml)")
        job = make_job({}, overrides, source="command line")
    from rich.console import Console

    console = Console(stderr=True)
    if ray_workers is not None:
        from fmops.customization import run_finetune_on_ray

        console.print(f"[dim]training on {ray_workers} Ray Train workers[/dim]")
        result = run_finetune_on_ray(job, num_workers=ray_workers, use_gpu=gpu, ray_address=ray_address)
    else:
        with _ProgressBar(console) as bar:
            result = run_finetune(job, on_event=bar.say, on_progress=bar.update)
    if os.environ.get("RANK", "0") != "0":  # a data-parallel job's other processes: the main one reports
        return
    print(f"model: {result.model_spec}")
    print(f"run: {result.run_id} ({result.steps} steps, {result.duration_s:.1f} s", end="")
    if result.tokens_per_second:
        print(f", {result.tokens_per_second:,.0f} tokens/s", end="")
    print(")")
    if result.adapter_path:
        print(f"adapter: {result.adapter_path}")
    if result.merged_path:
        print(f"weights: {result.merged_path}")
    if result.comparison_path:
        print(f"comparison: {result.comparison_path}")
        for line in result.comparison_summary:
            print(f"  {line}")


class _ProgressBar:
    """A rich bar with loss, learning rate, tokens/s and ETA; stage messages printed above it."""

    def __init__(self, console: Any) -> None:
        self._console = console
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def say(self, message: str) -> None:
        self._console.print(f"[dim]{message}[/dim]", highlight=False)

    def update(self, event: Any) -> None:
        if self._progress is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("training"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeRemainingColumn(),
                console=self._console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("training", total=event.total_steps, stats="")
        stats = []
        if event.loss is not None:
            stats.append(f"loss {event.loss:.3f}")
        if event.learning_rate is not None:
            stats.append(f"lr {event.learning_rate:.1e}")
        if event.tokens_per_second is not None:
            stats.append(f"{event.tokens_per_second:,.0f} tok/s")
        self._progress.update(
            self._task, completed=event.step, total=event.total_steps, stats=" · ".join(stats)
        )
        if event.step >= event.total_steps:
            self._progress.stop()
            self._progress = None
