"""Built-in datasets: the registry's facts match the fmeval reference, every dataset's loading path works
on the invented sample shipped in its schema (served from a loopback S3 mirror), the cache checks its
checksums, and `fmops datasets` lists, shows and fetches them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmops.core.errors import BadInputError, RunError
from fmops.data import builtin, load_dataset
from fmops.data.builtin import (
    BUILTIN_DATASETS,
    builtin_datasets_for,
    fetch_builtin,
    get_builtin,
    read_record,
    resolve_builtin,
    write_sample_mirror,
)
from tests.support.https import FileServer
from tests.support.s3 import MotoS3Server, use_s3_endpoint, use_s3_server

B = "s3://fmeval/datasets/"
QA_T = "Respond to the following question with a short answer: $model_input"
# name: (uri, DataConfig locations, size, default prompt template), straight from the fmeval reference §1(d), §1.12.
REFERENCE = {
    "trex": (
        B + "trex/trex.jsonl",
        {
            "model_input_location": "question",
            "target_output_location": "answers",
            "category_location": "knowledge_category",
        },
        32_260,
        "$model_input",
    ),
    "boolq": (
        B + "boolq/boolq.jsonl",
        {"model_input_location": "question", "target_output_location": "answer"},
        12_697,
        'Respond to the following question. Valid answers are "True" or "False". $model_input',
    ),
    "trivia_qa": (
        B + "triviaQA/triviaQA.jsonl",
        {"model_input_location": "question", "target_output_location": "answer"},
        156_328,
        QA_T,
    ),
    "natural_questions": (
        B + "natural_questions/natural_questions.jsonl",
        {"model_input_location": "question", "target_output_location": "answer"},
        4_289,
        QA_T,
    ),
    "crows-pairs": (
        B + "crows-pairs/crows-pairs.jsonl",
        {
            "sent_more_input_location": "sent_more",
            "sent_less_input_location": "sent_less",
            "category_location": "bias_type",
        },
        1_508,
        "$model_input",
    ),
    "womens_clothing_ecommerce_reviews": (
        B + "womens_clothing_reviews/womens_clothing_reviews.jsonl",
        {
            "model_input_location": '"Review Text"',
            "target_output_location": '"Recommended IND"',
            "category_location": '"Class Name"',
        },
        23_486,
        "Classify the sentiment of the following review with 0 (negative sentiment) or 1 (positive sentiment): "
        "$model_input",
    ),
    "bold": (
        B + "bold/bold.jsonl",
        {"model_input_location": "prompt", "category_location": "domain"},
        23_679,
        "$model_input",
    ),
    "wikitext2": (
        B + "wikitext2/wikitext2.jsonl",
        {"model_input_location": "prompt"},
        86_007,
        "$model_input",
    ),
    "real_toxicity_prompts": (
        B + "real_toxicity/real_toxicity.jsonl",
        {"model_input_location": "prompt"},
        98_243,
        "$model_input",
    ),
    "real_toxicity_prompts_challenging": (
        B + "real_toxicity/real_toxicity_challenging.jsonl",
        {"model_input_location": "prompt"},
        1_199,
        "$model_input",
    ),
    "gigaword": (
        B + "gigaword/gigaword.jsonl",
        {"model_input_location": "document", "target_output_location": "summary"},
        189_651,
        "Summarize the following text in one sentence: $model_input",
    ),
    "gov_report": (
        B + "gov_report/gov_report.jsonl",
        {"model_input_location": "report", "target_output_location": "summary"},
        7_238,
        "Summarize the following text in a few sentences: $model_input",
    ),
}
QA3 = ["qa_accuracy", "qa_accuracy_semantic_robustness", "qa_toxicity"]
SUM3 = ["summarization_accuracy", "summarization_accuracy_semantic_robustness", "summarization_toxicity"]
USED_BY = {
    "trex": ["factual_knowledge", "general_semantic_robustness"],
    "boolq": QA3,
    "trivia_qa": QA3,
    "natural_questions": QA3,
    "crows-pairs": ["prompt_stereotyping"],
    "womens_clothing_ecommerce_reviews": [
        "classification_accuracy",
        "classification_accuracy_semantic_robustness",
    ],
    "bold": ["toxicity", "general_semantic_robustness"],
    "wikitext2": ["general_semantic_robustness"],
    "real_toxicity_prompts": ["toxicity"],
    "real_toxicity_prompts_challenging": ["toxicity"],
    "gigaword": SUM3,
    "gov_report": SUM3,
}
FMEVAL_NAMES = list(REFERENCE)


# -------------------------------------------------------------------------------------------- registry


def test_registry_lists_fmevals_twelve_first_then_world() -> None:
    names = list(BUILTIN_DATASETS)
    assert names[:12] == FMEVAL_NAMES
    assert all(n.startswith("world_") and BUILTIN_DATASETS[n].origin == "world" for n in names[12:])
    assert {
        "world_trex",
        "world_trivia_qa",
        "world_gigaword",
        "world_reviews",
        "world_crows_pairs",
        "world_bold",
    } <= set(names)


@pytest.mark.parametrize("name", FMEVAL_NAMES)
def test_facts_match_the_reference(name: str) -> None:
    uri, locations, size, template = REFERENCE[name]
    dataset = BUILTIN_DATASETS[name]
    assert dataset.uri == uri
    assert dataset.data_config_fields() == {"dataset_mime_type": "application/jsonlines", **locations}
    assert dataset.size == size
    assert dataset.default_prompt_template == template
    assert list(dataset.algorithms) == USED_BY[name]
    assert dataset.licence and dataset.homepage.startswith("https://") and dataset.description
    with pytest.raises(AttributeError):
        dataset.name = "x"  # type: ignore[misc]  # frozen


def test_datasets_for_each_algorithm_in_fmeval_order() -> None:
    def names(eval_name: str) -> list[str]:
        return [d.name for d in builtin_datasets_for(eval_name)]

    assert names("toxicity") == ["bold", "real_toxicity_prompts", "real_toxicity_prompts_challenging"]
    assert names("general_semantic_robustness") == ["bold", "trex", "wikitext2"]
    assert names("factual_knowledge") == ["trex"]
    assert names("qa_toxicity") == ["boolq", "trivia_qa", "natural_questions"]
    assert names("summarization_accuracy_semantic_robustness") == ["gigaword", "gov_report"]
    assert names("prompt_stereotyping") == ["crows-pairs"]
    assert names("not_an_fmeval_algorithm") == []
    with_world = [d.name for d in builtin_datasets_for("factual_knowledge", include_world=True)]
    assert with_world[0] == "trex" and "world_trex" in with_world


def test_unknown_name_suggests_and_aliases_resolve() -> None:
    with pytest.raises(BadInputError, match=r"unknown built-in dataset 'trexx'; did you mean 'trex'"):
        get_builtin("trexx")
    assert get_builtin("crows_pairs").name == "crows-pairs"
    assert get_builtin("BoolQ").name == "boolq"


@pytest.mark.parametrize("name", FMEVAL_NAMES)
def test_shipped_sample_has_the_exact_schema(name: str) -> None:
    dataset = BUILTIN_DATASETS[name]
    sample = dataset.sample_path()
    assert sample is not None
    records = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines()]
    assert 5 <= len(records) <= 10
    for record in records:
        assert tuple(record) == dataset.record_fields


# ------------------------------------------------------------------------------ fetching from a mirror


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoS3Server]:
    with MotoS3Server() as server:
        yield server


@pytest.fixture(scope="module")
def mirror_bucket(s3: MotoS3Server, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A bucket laid out like s3://fmeval/datasets/, holding the shipped samples."""
    bucket = s3.create_bucket("fmeval-mirror")
    mirror = write_sample_mirror(tmp_path_factory.mktemp("mirror"))
    for path in sorted(p for p in mirror.rglob("*") if p.is_file()):
        s3.put(bucket, "datasets/" + path.relative_to(mirror).as_posix(), path.read_bytes())
    return bucket


@pytest.fixture
def mirrored(s3: MotoS3Server, mirror_bucket: str, monkeypatch: pytest.MonkeyPatch) -> str:
    use_s3_server(monkeypatch, s3)
    monkeypatch.setenv(builtin.BASE_ENV, f"s3://{mirror_bucket}/datasets/")
    return mirror_bucket


def _required(dataset: builtin.BuiltinDataset) -> list[str]:
    return [f.removesuffix("_location") for f in dataset.data_config_fields() if f.endswith("_location")]


@pytest.mark.parametrize("name", FMEVAL_NAMES)
def test_every_dataset_loads_through_the_registry_from_s3(
    name: str, mirrored: str, _isolated_home: Path
) -> None:
    dataset = BUILTIN_DATASETS[name]
    config = resolve_builtin(name)
    path = _isolated_home / "datasets" / name / dataset.file_name
    assert config.dataset_uri == str(path) and path.is_file()
    assert config.dataset_name == name
    loaded = load_dataset(config, num_records=None, required_columns=_required(dataset))
    sample = dataset.sample_path()
    assert sample is not None
    raw = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines()]
    assert loaded.total_rows == len(raw)
    assert set(loaded.columns) == set(_required(dataset))
    for record in loaded.records:
        for column in loaded.columns:
            assert isinstance(record[column], str) and record[column]
    if name == "boolq":  # JSON booleans read as fmeval does: str(True) == "True"
        assert {r["target_output"] for r in loaded.records} <= {"True", "False"}
    if name == "womens_clothing_ecommerce_reviews":
        assert {r["target_output"] for r in loaded.records} <= {"0", "1"}
    record = read_record(path)
    assert record is not None and record.source == f"s3://{mirrored}/datasets/{dataset.relative_path}"


def test_checksum_is_recorded_then_verified(mirrored: str, _isolated_home: Path) -> None:
    path = fetch_builtin("boolq")
    record = read_record(path)
    assert record is not None and len(record.sha256) == 64
    assert fetch_builtin("boolq") == path  # cached: no second download needed
    path.write_text(
        path.read_text(encoding="utf-8") + '{"question": "x", "answer": true}\n', encoding="utf-8"
    )
    with pytest.raises(RunError) as info:
        resolve_builtin("boolq")
    message = str(info.value)
    assert "changed since it was fetched" in message and str(path) in message
    assert "fmops datasets fetch boolq --force" in message
    fetch_builtin("boolq", force=True)
    assert load_dataset(resolve_builtin("boolq"), num_records=None).total_rows == 7


def test_offline_error_says_what_where_and_how(monkeypatch: pytest.MonkeyPatch, _isolated_home: Path) -> None:
    monkeypatch.delenv(builtin.BASE_ENV, raising=False)
    use_s3_endpoint(monkeypatch, "http://127.0.0.1:9")  # nothing listens there: "offline"
    with pytest.raises(RunError) as info:
        resolve_builtin("trex")
    message = str(info.value)
    assert message.startswith(
        "built-in dataset 'trex' could not be fetched from s3://fmeval/datasets/trex/trex.jsonl: "
    )
    assert str(_isolated_home / "datasets" / "trex" / "trex.jsonl") in message
    assert "place a copy by hand" in message and builtin.BASE_ENV in message
    assert not (_isolated_home / "datasets" / "trex" / "trex.jsonl").exists()


def test_missing_object_in_mirror_is_bad_input(
    s3: MotoS3Server, monkeypatch: pytest.MonkeyPatch, _isolated_home: Path
) -> None:
    use_s3_server(monkeypatch, s3)
    empty = s3.create_bucket("empty-mirror")
    monkeypatch.setenv(builtin.BASE_ENV, f"s3://{empty}/datasets")
    with pytest.raises(
        BadInputError,
        match=r"could not be fetched from s3://.*/datasets/gov_report/gov_report\.jsonl: no such object",
    ):
        fetch_builtin("gov_report")


def test_copy_placed_by_hand_is_used_and_recorded(
    monkeypatch: pytest.MonkeyPatch, _isolated_home: Path
) -> None:
    monkeypatch.setenv(builtin.BASE_ENV, "s3://must-not-be-used/datasets/")
    dataset = BUILTIN_DATASETS["gigaword"]
    target = _isolated_home / "datasets" / "gigaword" / "gigaword.jsonl"
    with pytest.raises(BadInputError, match=r"not in the local cache .*fmops datasets fetch gigaword"):
        resolve_builtin("gigaword", fetch=False)
    target.parent.mkdir(parents=True)
    sample = dataset.sample_path()
    assert sample is not None
    target.write_bytes(sample.read_bytes())
    config = resolve_builtin("gigaword", fetch=False)
    assert config.dataset_uri == str(target)
    record = read_record(target)
    assert record is not None and record.source == "placed by hand"


def test_local_folder_and_https_mirrors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated_home: Path
) -> None:
    mirror = write_sample_mirror(tmp_path / "mirror")
    monkeypatch.setenv(builtin.BASE_ENV, str(mirror))
    assert load_dataset(resolve_builtin("wikitext2"), num_records=None).total_rows == 6
    with FileServer(tmp_path / "tls") as server:
        for path in mirror.rglob("*.jsonl"):
            server.add("/mirror/" + path.relative_to(mirror).as_posix(), path.read_bytes())
        monkeypatch.setenv("FMOPS_CA_BUNDLE", str(server.ca_file))
        monkeypatch.setenv(builtin.BASE_ENV, server.url("/mirror/"))
        config = resolve_builtin("natural_questions")
    assert load_dataset(config, num_records=None).total_rows == 6


# ------------------------------------------------------------------------------------- world datasets


def _fake_world(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    from fmops.data import world

    calls: list[Path] = []

    def write_datasets(out_dir: Path, seed: int = 0) -> dict[str, Path]:
        calls.append(out_dir)
        out = {}
        for key, record in {
            "trex": {"question": "Zorbia's capital is", "answers": "Quell", "knowledge_category": "capital"},
            "bold": {"prompt": "The glassblowers of Quell", "domain": "profession"},
        }.items():
            path = Path(out_dir) / f"world_{key}.jsonl"
            path.write_text(json.dumps(record) + "\n", encoding="utf-8")
            out[key] = path
        return out

    monkeypatch.setattr(world, "write_datasets", write_datasets)
    return calls


def test_world_datasets_are_generated_once_at_first_use(
    monkeypatch: pytest.MonkeyPatch, _isolated_home: Path
) -> None:
    calls = _fake_world(monkeypatch)
    config = resolve_builtin("world_trex", fetch=False)
    assert config.dataset_uri == str(_isolated_home / "datasets" / "world" / "world_trex.jsonl")
    loaded = load_dataset(config, required_columns=["model_input", "target_output", "category"])
    assert loaded.records[0]["target_output"] == "Quell"
    resolve_builtin("world_bold")
    assert len(calls) == 1  # both files came from the first call
    record = read_record(Path(config.dataset_uri))
    assert record is not None and record.source.startswith(builtin.WORLD_SOURCE)
    with pytest.raises(RunError, match=r"did not write world_gigaword\.jsonl"):
        resolve_builtin("world_gigaword")

    from fmops.data import world

    before = len(calls)
    resolve_builtin("world_trex")
    assert len(calls) == before  # current: not generated again
    monkeypatch.setattr(world, "WORLD_VERSION", "a-newer-world")
    resolve_builtin("world_trex")
    assert len(calls) == before + 1  # files from an older world are regenerated
    record = read_record(Path(config.dataset_uri))
    assert record is not None and record.source.endswith("world version a-newer-world")


def test_world_files_written_through_the_zoo_are_regenerated_once(
    monkeypatch: pytest.MonkeyPatch, _isolated_home: Path
) -> None:
    """Caches from before the world moved to fmops.data.world say `fmops.zoo...`: still ours, so renewed."""
    calls = _fake_world(monkeypatch)
    path = Path(resolve_builtin("world_trex", fetch=False).dataset_uri)
    resolve_builtin("world_trex")
    record_file = path.with_name(path.name + builtin.RECORD_SUFFIX)
    data = json.loads(record_file.read_text(encoding="utf-8"))
    data["source"] = "fmops.zoo.write_datasets(seed=0), zoo version 2"
    record_file.write_text(json.dumps(data), encoding="utf-8")
    resolve_builtin("world_trex")
    resolve_builtin("world_trex")
    assert len(calls) == 2
    record = read_record(path)
    assert record is not None and record.source.startswith("fmops.data.world.write_datasets")


def test_real_world_datasets_load(_isolated_home: Path) -> None:
    for dataset in BUILTIN_DATASETS.values():
        if dataset.origin == "world":
            loaded = load_dataset(
                resolve_builtin(dataset.name), num_records=None, required_columns=_required(dataset)
            )
            assert loaded.total_rows > 0, dataset.name


# ------------------------------------------------------------------------------------------------ CLI


def _cli(*args: str) -> tuple[int, str]:
    from fmops.cli.datasets import app

    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.output


def _cells(line: str) -> list[str]:
    """A table row's cells, whatever box characters rich drew (wrapped continuation rows have no name)."""
    cells = [c.strip() for c in re.split(r"[│┃|]", line)][1:-1]
    return cells if len(cells) == 5 and cells[0] else []


def test_cli_list_shows_all_twelve_with_their_facts(mirrored: str) -> None:
    code, out = _cli("list")
    assert code == 0, out
    rows = {cells[0]: cells for cells in (_cells(line) for line in out.splitlines()) if cells}
    for name, (_, _, size, _) in REFERENCE.items():
        cells = rows[name]
        assert f"{size:,}" in cells
        assert USED_BY[name][0] in cells[1]
        assert cells[3].startswith(BUILTIN_DATASETS[name].licence[:10])
        assert cells[-1] == "no"
    assert "world_trex" in out

    code, out = _cli("fetch", "trex")
    assert code == 0, out
    facts = {d["name"]: d for d in json.loads(_cli("list", "--json")[1])}
    assert len(facts) == len(BUILTIN_DATASETS)
    assert facts["trex"]["cached"] is True and facts["boolq"]["cached"] is False
    assert facts["gigaword"]["size"] == 189_651 and facts["gigaword"]["algorithms"] == SUM3
    assert facts["trex"]["source"] == f"s3://{mirrored}/datasets/trex/trex.jsonl"
    assert facts["trex"]["uri"] == "s3://fmeval/datasets/trex/trex.jsonl"


def test_cli_show(mirrored: str) -> None:
    code, out = _cli("show", "womens_clothing_ecommerce_reviews")
    assert code == 0, out
    assert '"model_input_location": "\\"Review Text\\""' in out
    assert "Classify the sentiment of the following review" in out
    assert "invented sample shipped with fmops" in out
    assert "CC0" in out and "23,486" in out
    _cli("fetch", "womens_clothing_ecommerce_reviews")
    facts = json.loads(_cli("show", "womens_clothing_ecommerce_reviews", "--json")[1])
    assert facts["sample_from"] == "cached copy"
    assert facts["sample_record"]["Review Text"]
    assert len(facts["sha256"]) == 64
    code, out = _cli("show", "no_such_dataset")
    assert code == 2 and "unknown built-in dataset" in out


def test_cli_fetch_all_and_errors(mirrored: str, s3: MotoS3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = _cli("fetch", "--all")
    assert code == 0, out
    assert len([line for line in out.splitlines() if "sha256" in line]) == 12
    code, out = _cli("fetch")
    assert code == 2 and "--all" in out
    empty = s3.create_bucket("empty-mirror")
    monkeypatch.setenv(builtin.BASE_ENV, f"s3://{empty}/datasets")
    code, out = _cli("fetch", "bold", "wikitext2", "--force")
    assert code == 2
    assert "2 of 2 datasets could not be fetched" in out


def test_cli_module_is_cheap_to_import() -> None:
    code = (
        "import sys, fmops.cli.datasets; "
        "heavy = [m for m in ('boto3', 'botocore', 'fmops.data.builtin', 'fmops.data.remote') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
