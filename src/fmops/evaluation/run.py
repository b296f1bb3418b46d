"""The evaluation engine: load and sample, generate (when a model is given), score, aggregate, write.

Generation and scoring are separate phases: a run folder keeps every output, so `rescore` can apply
another metric configuration without calling a model, and the model layer's response store makes an
interrupted run resume without paying twice. The engine checks every input once (through `plans`),
plans the datasets, hands each to an executor (which runs `generation` then `scoring`), aggregates
and writes the run folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import fmops
from fmops.core.errors import BadInputError, FieldError
from fmops.core.results import EvalOutput
from fmops.data import DataConfig, Dataset, load_dataset
from fmops.evaluation.algorithms import ALGORITHMS, Algorithm, ScoredRecord, get_algorithm
from fmops.evaluation.executors import Executor, get_executor
from fmops.evaluation.generation import USAGE
from fmops.evaluation.manifest import (
    ManifestDataset,
    ManifestExecutor,
    ManifestModel,
    ManifestRescored,
    RunManifest,
    read_run_manifest,
)
from fmops.evaluation.output import (
    RECORD_COLUMNS,
    check_output_location,
    output_record,
    read_run_records,
    records_file_name,
    write_run,
)
from fmops.evaluation.plans import (
    SAMPLE_SEED,
    bad_record_policy,
    dataset_plans,
    resolve_data_config,
    sample_size,
)
from fmops.evaluation.prompts import PromptTemplate
from fmops.evaluation.scoring import score_dataset

if TYPE_CHECKING:
    from fmops.models import GenerateConfig, Model

ProgressCallback = Callable[[int, int], None]


@dataclass
class EvalRun:
    """What one evaluation produced: fmeval-shaped outputs (one per dataset), per-record rows, the manifest."""

    outputs: list[EvalOutput]
    records: list[dict[str, Any]]
    manifest: RunManifest
    output_dir: Path | None = None
    skipped: list[str] = field(default_factory=list)
    records_by_dataset: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def output(self) -> EvalOutput:
        return self.outputs[0]


def evaluate(
    algorithm: str | Algorithm,
    *,
    model: str | Model | None = None,
    model_args: Mapping[str, Any] | Sequence[str] | None = None,
    dataset: str | Path | None = None,
    data_config: DataConfig | str | Path | None = None,
    locations: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
    num_records: int | Literal["all"] | str | None = None,
    prompt_template: str | None = None,
    generate_config: GenerateConfig | Mapping[str, Any] | None = None,
    output: str | Path | None = None,
    on_bad_record: Literal["fail", "skip"] | str = "fail",
    progress: ProgressCallback | None = None,
    executor: str | Executor = "local",
    ray_address: str | None = None,
) -> EvalRun:
    """Evaluate with an fmeval algorithm, on outputs the dataset brings or that `model` generates.

    `dataset` is a file or folder; `locations` maps fmeval column names (`model_input`, `target_output`,
    `model_output`, `category`, `sent_more_log_prob`, ...) to JMESPath expressions; a required column
    without a location is looked up under its own name. `data_config` (an fmeval DataConfig or its JSON
    file) may be given instead of or under `dataset`/`locations`, which then override it. With a model and
    no dataset, the algorithm runs on its built-in datasets, as fmeval does. `num_records` defaults to the
    algorithm's default (100; 300 for factual knowledge); "all" keeps every record in file order.
    `executor` runs generation and scoring: "local" (in-process) or "ray" (on the cluster at
    `ray_address`; see `fmops.evaluation.executors`), with identical results.
    """
    # Every input is checked here, once, before any work (a bad -o or option must cost nothing).
    probe, make_algorithm = _algorithm_factory(algorithm, config)
    if model is None and (model_args or prompt_template):
        raise FieldError(
            "{model_args} and {prompt_template} need {model}", "model_args", "prompt_template", "model"
        )
    if output is not None:
        check_output_location(output)
    policy = bad_record_policy(on_bad_record)
    size = sample_size(probe, num_records)
    remote_output = str(output) if output is not None and str(output).startswith("s3://") else None
    if remote_output is not None:  # run into a local staging folder, upload when done (fmeval's S3 save)
        from fmops.data.upload import run_staging_dir

        output = run_staging_dir(remote_output)
    owned_model = isinstance(model, str)
    the_model = _resolve_model(model, model_args, probe) if model is not None else None
    gen_config = _generate_config(generate_config)
    plans = dataset_plans(probe, dataset, data_config, locations, with_model=the_model is not None)
    runner = get_executor(executor, ray_address=ray_address)  # executor: start

    started = time.perf_counter()
    outputs, rows_by_file, dataset_entries, skipped = [], {}, [], []
    in_process: list[str] = []  # datasets a Ray executor ran in-process (too small to start Ray for)
    try:
        for plan in plans:
            algo = make_algorithm()
            template = PromptTemplate(prompt_template or plan.template) if the_model is not None else None
            data = load_dataset(
                plan.config,
                num_records=size,
                required_columns=plan.required_columns,
                on_bad_record=policy,
            )
            records = [dict(r) for r in data.records]
            algo.prepare(records)
            if the_model is not None and template is not None:
                template.check_columns({*data.columns, "model_input"}, data.uri)
            scored = runner.run(algo, the_model, records, template, gen_config, progress)  # executor
            if not getattr(runner, "started", True):
                in_process.append(data.name)
            file_name = records_file_name(algo.eval_name, data.name)
            rows = [output_record(r, s, algo.record_fields) for r, s in zip(records, scored, strict=True)]
            outputs.append(_eval_output(algo, data, records, scored, template, output, file_name))
            rows_by_file[file_name] = rows
            dataset_entries.append(_dataset_entry(data, size, template, runner.manifest_info(algo)))
            skipped += data.skipped
    finally:
        if runner is not executor:  # executor: close the one made here
            runner.close()
        if owned_model and the_model is not None:
            the_model.close()

    manifest = _manifest(probe, dataset_entries, the_model, gen_config, time.perf_counter() - started)
    manifest.executor = ManifestExecutor(name=runner.name, in_process=in_process)
    out_dir = Path(output) if output is not None else None
    if out_dir is not None:
        if remote_output is not None:
            outputs = [_remote_paths(o, out_dir, remote_output) for o in outputs]
        write_run(out_dir, outputs, rows_by_file, manifest)
        if remote_output is not None:
            from fmops.data.upload import upload_run_folder

            upload_run_folder(out_dir, remote_output)
    all_rows = [row for rows in rows_by_file.values() for row in rows]
    return EvalRun(outputs, all_rows, manifest, out_dir, skipped, rows_by_file)


def _remote_paths(output: EvalOutput, local: Path, remote: str) -> EvalOutput:
    if output.output_path is None:
        return output
    relative = Path(output.output_path).relative_to(local).as_posix()
    return output.model_copy(update={"output_path": f"{remote.rstrip('/')}/{relative}"})


def rescore(
    run_dir: str | Path,
    *,
    config: Mapping[str, Any] | None = None,
    output: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> EvalRun:
    """Score a finished run's stored outputs again, with the config changed by `config`; no model call.

    The new run folder (default: the same folder) gets new results, records and a manifest that says
    what it was rescored from.
    """
    source = Path(run_dir)
    if output is not None:
        check_output_location(output, remote=False)
    manifest = read_run_manifest(source)
    options = {**manifest.config, **dict(config or {})}
    algo_name = manifest.algorithm
    outputs, rows_by_file = [], {}
    for entry in manifest.datasets:
        algo = get_algorithm(algo_name, options)
        file_name = records_file_name(algo_name, entry.name)
        records = [_record_from_row(row, algo) for row in read_run_records(source / "records" / file_name)]
        scored = score_dataset(algo, records, progress)
        rows_by_file[file_name] = [
            output_record(r, s, algo.record_fields) for r, s in zip(records, scored, strict=True)
        ]
        dataset_scores, category_scores = algo.aggregate(records, scored)
        out_dir = Path(output) if output is not None else source
        outputs.append(
            EvalOutput(
                eval_name=algo_name,
                dataset_name=entry.name,
                dataset_scores=dataset_scores,
                category_scores=category_scores,
                prompt_template=entry.prompt_template,
                output_path=str(out_dir / "records" / file_name),
                num_records=len(records),
            )
        )
    new_manifest = manifest.model_copy(
        update={
            "config": get_algorithm(algo_name, options).config.model_dump(mode="json"),
            "rescored": ManifestRescored(source=str(source), at=_now(), changed=dict(config or {})),
        }
    )
    target = Path(output) if output is not None else source
    write_run(target, outputs, rows_by_file, new_manifest)
    rows = [r for rs in rows_by_file.values() for r in rs]
    return EvalRun(outputs, rows, new_manifest, target, [], rows_by_file)


def _record_from_row(row: dict[str, Any], algo: Algorithm) -> dict[str, Any]:
    keep = (*RECORD_COLUMNS, *algo.record_fields, "row", USAGE)
    return {k: row[k] for k in keep if k in row}


def _algorithm_factory(
    algorithm: str | Algorithm, config: Mapping[str, Any] | None
) -> tuple[Algorithm, Callable[[], Algorithm]]:
    """The algorithm (its name and config checked, once) and a factory of fresh copies: algorithms hold
    per-run state (perturbation RNG, labels), so every dataset gets its own."""
    if isinstance(algorithm, Algorithm):
        if config:
            raise BadInputError("pass config options either in the Algorithm object or as `config`, not both")
        probe = type(algorithm)(algorithm.config)
    else:
        probe = get_algorithm(algorithm, dict(config or {}))
    cls, frozen = type(probe), probe.config
    return probe, lambda: cls(frozen)


def _resolve_model(model: str | Model, model_args: Any, algo: Algorithm) -> Model:
    from fmops.models import CapabilityError, Model, get_model

    the_model = get_model(model, model_args) if isinstance(model, str) else model
    assert isinstance(the_model, Model)
    if algo.needs_model_scores and not the_model.capabilities.score:
        raise CapabilityError(
            f"{algo.eval_name} needs log-probabilities of given texts, and model {the_model.name} cannot score "
            "texts; use a model that can (local hf/zoo models, OpenAI-compatible completions with echo+logprobs) "
            "or bring the log-probabilities as sent_more_log_prob/sent_less_log_prob columns"
        )
    return the_model


def _generate_config(value: GenerateConfig | Mapping[str, Any] | None) -> GenerateConfig:
    from fmops.models import GenerateConfig

    if isinstance(value, GenerateConfig):
        return value
    # Greedy decoding by default: evaluations should be reproducible and their outputs cacheable.
    return GenerateConfig(**{"temperature": 0.0, **dict(value or {})})


def _eval_output(
    algo: Algorithm,
    data: Dataset,
    records: Sequence[dict[str, Any]],
    scored: Sequence[ScoredRecord],
    template: PromptTemplate | None,
    output: str | Path | None,
    file_name: str,
) -> EvalOutput:
    dataset_scores, category_scores = algo.aggregate(records, scored)
    failed = sum(1 for r in records if r.get("error"))
    return EvalOutput(
        eval_name=algo.eval_name,
        dataset_name=data.name,
        dataset_scores=dataset_scores,
        category_scores=category_scores,
        prompt_template=template.text if template is not None else None,
        output_path=str(Path(output) / "records" / file_name) if output is not None else None,
        error=f"{failed} of {len(records)} records failed in the model call" if failed else None,
        num_records=len(records),
        num_skipped_records=len(data.skipped) or None,
    )


def _dataset_entry(
    data: Dataset, sample_size: int | None, template: PromptTemplate | None, algo_info: dict[str, Any]
) -> ManifestDataset:
    return ManifestDataset(
        name=data.name,
        uri=data.uri,
        sha256=data.sha256,
        total_rows=data.total_rows,
        skipped_records=len(data.skipped),
        prompt_template=template.text if template is not None else None,
        sampling={
            "num_records": sample_size if sample_size is not None else "all",
            "seed": SAMPLE_SEED,
            "rows": list(data.sampled_rows),
        },
        **algo_info,  # the algorithm's own entries (helper models...), kept as extras
    )


def _manifest(
    algo: Algorithm,
    datasets: list[ManifestDataset],
    model: Model | None,
    gen_config: GenerateConfig,
    elapsed_s: float,
) -> RunManifest:
    """Everything that makes a run comparable and reproducible."""
    return RunManifest(
        fmops_version=fmops.__version__,
        created_at=_now(),
        algorithm=algo.eval_name,
        config=algo.config.model_dump(mode="json"),
        datasets=datasets,
        model=_model_entry(model, gen_config) if model is not None else None,
        elapsed_s=round(elapsed_s, 3),
    )


def _model_entry(model: Model, gen_config: GenerateConfig) -> ManifestModel:
    weights = getattr(model.api, "weights_source", None)
    return ManifestModel(
        name=model.name,
        provider=model.api.provider,
        model=model.api.model,
        fingerprint=model.fingerprint,
        generate_config=gen_config.model_dump(mode="json"),
        capabilities=model.capabilities.model_dump(mode="json"),
        **({"weights": weights} if weights else {}),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


__all__ = ["ALGORITHMS", "EvalRun", "evaluate", "rescore", "resolve_data_config", "score_dataset"]
