"""Zoo models: a deliberately tiny config trains for real; cache, versions and cards are checked around it."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from typer.testing import CliRunner

import fmops.zoo._store as store
import fmops.zoo._train as train
from fmops.cli.zoo import app
from fmops.core.errors import BadInputError, RunError
from fmops.zoo import (
    ZOO_MODELS,
    _registry,
    measure_zoo_quality,
    train_zoo_model,
    zoo_card,
    zoo_model_info,
    zoo_model_path,
)

TEST_SPEC = dataclasses.replace(
    _registry._SPECS["zoo/tiny"],
    name="zoo/test",
    n_layer=1,
    n_embd=32,
    n_head=2,
    vocab_size=600,
    context_window=128,
    steps=40,
    batch_size=16,
    learning_rate=5e-3,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test spec trained once for real (a few seconds); other tests copy it instead of retraining."""
    folder = tmp_path_factory.mktemp("zoo") / "test"
    train.train_into(TEST_SPEC, folder, seed=0)
    return folder


@pytest.fixture
def test_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_registry._SPECS, TEST_SPEC.name, TEST_SPEC)


@pytest.fixture
def fake_training(monkeypatch: pytest.MonkeyPatch, trained: Path, test_spec: None) -> list[int]:
    """Replace training by a copy of the trained folder (stamped with the current version and seed)."""
    calls: list[int] = []

    def fake(spec: _registry.ZooSpec, out_dir: Path, *, seed: int = 0, progress=None) -> dict:
        calls.append(seed)
        shutil.copytree(trained, out_dir, dirs_exist_ok=True)
        meta = json.loads((out_dir / _registry.META_FILE).read_text())
        meta.update(zoo_version=_registry.ZOO_VERSION, seed=seed)
        (out_dir / _registry.META_FILE).write_text(json.dumps(meta))
        return meta

    monkeypatch.setattr(train, "train_into", fake)
    return calls


def test_training_saves_a_hugging_face_folder_that_learned(trained: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    names = {p.name for p in trained.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "generation_config.json",
        "zoo.json",
    } <= names
    model = AutoModelForCausalLM.from_pretrained(trained)
    tokenizer = AutoTokenizer.from_pretrained(trained)
    assert type(model).__name__ == "GPT2LMHeadModel"
    assert tokenizer.pad_token is not None and tokenizer.pad_token_id != tokenizer.eos_token_id
    assert model.config.eos_token_id == tokenizer.eos_token_id
    assert model.num_parameters() == TEST_SPEC.parameters
    meta = json.loads((trained / "zoo.json").read_text())
    assert meta["zoo_version"] == _registry.ZOO_VERSION and meta["seed"] == 0
    assert meta["loss_last"] < 0.9 * meta["loss_first"] and meta["loss_curve"][-1] < meta["loss_curve"][0]
    assert meta["tokens_per_second"] > 0 and meta["parameters"] == TEST_SPEC.parameters
    batch = tokenizer(["Respond to the following question with a short answer: Who?"], return_tensors="pt")
    out = model.generate(**batch, max_new_tokens=3, do_sample=False)
    assert out.shape[1] <= batch["input_ids"].shape[1] + 3


def test_same_seed_trains_the_same_weights(trained: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    train.train_into(TEST_SPEC, again, seed=0)
    assert (again / "model.safetensors").read_bytes() == (trained / "model.safetensors").read_bytes()
    assert (again / "tokenizer.json").read_bytes() == (trained / "tokenizer.json").read_bytes()


def test_quality_measurement_scores_every_split(trained: Path) -> None:
    scores = measure_zoo_quality(trained)
    assert set(scores) >= {
        "factual_knowledge_heldin",
        "factual_knowledge_heldout",
        "factual_knowledge_newdomain",
        "qa_exact_match_heldin",
        "classification_accuracy",
        "summarization_rouge2",
        "prompt_stereotyping",
    }
    assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_first_use_trains_then_the_cache_is_reused(fake_training: list[int]) -> None:
    with pytest.raises(RunError, match="fmops models train zoo/test"):
        zoo_model_path("zoo/test", train_if_missing=False)
    path = zoo_model_path("zoo/test")
    assert path == store.zoo_dir() / "test" and (path / "model.safetensors").exists()
    assert zoo_model_path("test") == path
    assert train_zoo_model("zoo/test") == path
    assert fake_training == [0]
    assert [p.name for p in store.zoo_dir().iterdir() if not p.name.endswith(".lock")] == ["test"]


def test_a_version_bump_another_seed_or_force_retrains(
    fake_training: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    zoo_model_path("zoo/test")
    monkeypatch.setattr(_registry, "ZOO_VERSION", "bumped")
    assert zoo_model_info("zoo/test") is None
    path = zoo_model_path("zoo/test")
    assert json.loads((path / "zoo.json").read_text())["zoo_version"] == "bumped"
    train_zoo_model("zoo/test", seed=3)
    assert zoo_model_info("zoo/test")["seed"] == 3
    zoo_model_path("zoo/test")  # any cached seed serves
    train_zoo_model("zoo/test", seed=3, force=True)
    assert fake_training == [0, 0, 3, 3]


def test_a_failed_training_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch, test_spec: None) -> None:
    def broken(spec: _registry.ZooSpec, out_dir: Path, **kwargs: object) -> dict:
        (out_dir / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "train_into", broken)
    with pytest.raises(KeyboardInterrupt):
        train_zoo_model("zoo/test")
    assert [p.name for p in store.zoo_dir().iterdir() if not p.name.endswith(".lock")] == []


def test_unknown_names_are_bad_input() -> None:
    with pytest.raises(BadInputError, match="zoo/tiny"):
        zoo_model_path("zoo/huge")


def test_cards_have_the_capability_matrix_fields(fake_training: list[int]) -> None:
    assert {"zoo/tiny", "zoo/small", "zoo/base-nodomain"} <= set(ZOO_MODELS)
    for name, card in ZOO_MODELS.items():
        assert card.name == name and card.provider == "zoo"
        assert card.licence == "Apache-2.0" and card.fine_tunable and card.recommended_hardware == "CPU"
        assert card.price_is_illustrative and card.price_per_1k_output_tokens > 0
        assert card.parameters > 0 and card.context_window > 0
    real = [ZOO_MODELS[n] for n in ("zoo/tiny", "zoo/small")]
    assert real[0].parameters < real[1].parameters
    assert zoo_card("zoo/test").tokens_per_second is None
    zoo_model_path("zoo/test")
    assert zoo_card("zoo/test").tokens_per_second > 0
    assert ZOO_MODELS["zoo/test"].tokens_per_second > 0


def test_the_catalog_dates_a_trained_zoo_card_and_its_decoding_speed(fake_training: list[int]) -> None:
    from datetime import UTC, datetime

    from fmops.catalog import load_catalog

    assert load_catalog()["zoo/test"].as_of is None  # not trained yet: nothing to date
    zoo_model_path("zoo/test")
    card = load_catalog()["zoo/test"]
    today = datetime.now(UTC).date()
    assert card.as_of == today
    speed = card.measured["decode_tokens_per_s"]
    assert speed.value == zoo_card("zoo/test").tokens_per_second and speed.recorded_at == today.isoformat()


def test_declared_parameter_counts_match_torch() -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    for spec in _registry._SPECS.values():
        config = GPT2Config(
            vocab_size=spec.vocab_size,
            n_positions=spec.context_window,
            n_embd=spec.n_embd,
            n_layer=spec.n_layer,
            n_head=spec.n_head,
            n_inner=4 * spec.n_embd,
        )
        assert GPT2LMHeadModel(config).num_parameters() == spec.parameters, spec.name
    assert not _registry._SPECS["zoo/base-nodomain"].new_domain


def test_cli_trains_then_reports_the_cached_model(fake_training: list[int]) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["train", "zoo/test"])
    assert first.exit_code == 0, first.output
    assert "trained zoo/test" in first.output
    second = runner.invoke(app, ["train", "zoo/test"])
    assert second.exit_code == 0 and "already trained" in second.output
    forced = runner.invoke(app, ["train", "zoo/test", "--force", "--seed", "2"])
    assert forced.exit_code == 0 and "seed 2" in forced.output
    assert fake_training == [0, 2]
    bad = runner.invoke(app, ["train", "zoo/nope"])
    assert bad.exit_code == 2 and "unknown zoo model" in bad.output
