"""Toxicity detectors: the offline default, and fmeval's detoxify/toxigen on tiny checkpoints of their format."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from fmops.core.errors import BadInputError, RunError
from fmops.metrics import toxicity
from fmops.metrics.toxicity import (
    DETOXIFY_SCORE_NAMES,
    ToxicityDetector,
    get_toxicity_detector,
)
from tests.support.tiny_encoders import build_detoxify_checkpoint, build_tiny_roberta_classifier

TEXTS = [
    "You are a wonderful person; thank you for your help!",
    "The cat sat on the mat.",
    "",
    "Paris is the capital of France, and Berlin is the capital of Germany.",
    "the quick brown fox " * 40,  # past the tiny models' 64 tokens: truncated
    *[f"Numbers like {i} and {i + 1} appear in sentences too." for i in range(66)],  # > one batch of 64
]


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real HF/torch caches or env must not decide what these tests load."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-hub"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("FMOPS_DETOXIFY_CHECKPOINT", raising=False)


@pytest.fixture(scope="session")
def detoxify_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with `tiny.ckpt` (Detoxify format) and the `roberta-base` config/tokenizer it needs."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("detoxify")
    build_detoxify_checkpoint(folder / "tiny.ckpt", folder / "roberta-base")
    return folder


@pytest.fixture(scope="session")
def toxigen_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return build_tiny_roberta_classifier(tmp_path_factory.mktemp("toxigen") / "toxigen_roberta", 2)


def _home() -> Path:
    from fmops.core.settings import fmops_home

    return fmops_home()


# ---- the offline default -----------------------------------------------------------------------------


def test_default_is_profanity_check_with_its_own_score_name() -> None:
    detector = get_toxicity_detector()
    assert isinstance(detector, ToxicityDetector)
    assert detector.score_names == ("profanity",)
    assert detector.info["detector"] == "profanity_check"
    assert detector.info["model"].startswith("alt-profanity-check ")
    scores = detector.score(["shut the fuck up", "You are an idiot.", "Thank you for your help.", ""])
    assert [set(s) for s in scores] == [{"profanity"}] * 4
    profane, insult, polite, empty = (s["profanity"] for s in scores)
    assert profane > 0.9 and insult > 0.9
    assert polite < 0.1 and empty < 0.1
    assert detector.score([]) == []
    assert get_toxicity_detector("profanity_check") is detector


def test_profanity_check_rejects_model_path_and_non_text() -> None:
    with pytest.raises(BadInputError, match="model_path"):
        get_toxicity_detector("profanity_check", model_path="/x")
    with pytest.raises(ValueError, match="text #1"):
        get_toxicity_detector().score(["ok", None])  # type: ignore[list-item]


def test_unknown_detector_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="detoxify"):
        get_toxicity_detector("perspective")


# ---- detoxify ----------------------------------------------------------------------------------------


def _fmeval_style_detoxify(checkpoint: Path, base: Path, texts: list[str]) -> list[list[float]]:
    """fmeval's DetoxifyHelperModel with local files: from_pretrained(None, config, state_dict), batches of 64."""
    import torch
    import transformers

    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    args = saved["config"]["arch"]["args"]
    config = transformers.AutoConfig.from_pretrained(base, num_labels=args["num_classes"])
    model = getattr(transformers, args["model_name"]).from_pretrained(
        None, config=config, state_dict=saved["state_dict"]
    )
    tokenizer = getattr(transformers, args["tokenizer_name"]).from_pretrained(base)
    rows: list[list[float]] = []
    for start in range(0, len(texts), 64):
        inputs = tokenizer(texts[start : start + 64], return_tensors="pt", truncation=True, padding=True)
        with torch.no_grad():
            rows += torch.sigmoid(model.eval()(**inputs)[0]).tolist()
    return [row[:7] for row in rows]


def test_detoxify_matches_fmeval_definition(detoxify_files: Path) -> None:
    detector = get_toxicity_detector("detoxify", model_path=str(detoxify_files / "tiny.ckpt"))
    assert detector.score_names == DETOXIFY_SCORE_NAMES
    assert detector.info["source"] == "model_path"
    assert detector.info["base_model"] == str(detoxify_files / "roberta-base")
    got = detector.score(TEXTS)
    want = _fmeval_style_detoxify(detoxify_files / "tiny.ckpt", detoxify_files / "roberta-base", TEXTS)
    assert [list(s) for s in got] == [list(DETOXIFY_SCORE_NAMES)] * len(TEXTS)
    for scores, row in zip(got, want, strict=True):
        assert [scores[n] for n in DETOXIFY_SCORE_NAMES] == pytest.approx(row, abs=1e-5)
    assert len({round(s["toxicity"], 3) for s in got[:5]}) > 2  # the tiny model tells texts apart
    assert detector.score([]) == []
    # A folder holding the checkpoint works too, and the detector is loaded once.
    assert get_toxicity_detector("detoxify", model_path=str(detoxify_files)) is detector


def test_detoxify_from_env_fmops_home_and_torch_hub(
    detoxify_files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FMOPS_DETOXIFY_CHECKPOINT", str(detoxify_files / "tiny.ckpt"))
    assert get_toxicity_detector("detoxify").info["source"] == "FMOPS_DETOXIFY_CHECKPOINT"
    monkeypatch.delenv("FMOPS_DETOXIFY_CHECKPOINT")

    # The default place, with torch hub's "-<sha256 prefix>" name, which is verified.
    digest = hashlib.sha256((detoxify_files / "tiny.ckpt").read_bytes()).hexdigest()
    name = f"tiny_debiased-{digest[:8]}.ckpt"
    monkeypatch.setattr(toxicity, "DETOXIFY_CHECKPOINT_NAME", name)
    home = _home() / "models" / "detoxify"
    home.mkdir(parents=True)
    shutil.copy(detoxify_files / "tiny.ckpt", home / name)
    shutil.copytree(detoxify_files / "roberta-base", home / "roberta-base")
    detector = get_toxicity_detector("detoxify")
    assert (detector.info["source"], detector.info["checkpoint"]) == ("fmops-home", str(home / name))
    assert detector.score(["hello"])[0].keys() == set(DETOXIFY_SCORE_NAMES)

    # torch hub's cache (where fmeval and the detoxify package download it); roberta-base from FMOPS_HOME.
    (home / name).unlink()
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    shutil.copy(detoxify_files / "tiny.ckpt", hub / name)
    assert get_toxicity_detector("detoxify").info["source"] == "torch-hub-cache"


def test_missing_detoxify_checkpoint_says_where_to_put_it() -> None:
    with pytest.raises(RunError) as err:
        get_toxicity_detector("detoxify")
    message = str(err.value)
    assert str(_home() / "models" / "detoxify" / "toxic_debiased-c7548aa0.ckpt") in message
    assert toxicity.DETOXIFY_CHECKPOINT_URL in message
    assert "roberta-base" in message
    with pytest.raises(RunError, match="does not exist"):
        get_toxicity_detector("detoxify", model_path="/nonexistent/toxic.ckpt")


def test_missing_roberta_base_files_is_a_run_error(detoxify_files: Path, tmp_path: Path) -> None:
    lonely = tmp_path / "only-ckpt"
    lonely.mkdir()
    shutil.copy(detoxify_files / "tiny.ckpt", lonely / "tiny.ckpt")
    with pytest.raises(RunError, match=r"roberta-base's config.json and tokenizer"):
        get_toxicity_detector("detoxify", model_path=str(lonely / "tiny.ckpt"))


def test_roberta_base_from_hf_cache(detoxify_files: Path, tmp_path: Path) -> None:
    lonely = tmp_path / "only-ckpt"
    lonely.mkdir()
    shutil.copy(detoxify_files / "tiny.ckpt", lonely / "tiny.ckpt")
    snapshot = tmp_path / "hf-hub" / "models--FacebookAI--roberta-base" / "snapshots" / "abc"
    shutil.copytree(detoxify_files / "roberta-base", snapshot)
    detector = get_toxicity_detector("detoxify", model_path=str(lonely / "tiny.ckpt"))
    assert detector.info["base_model"] == str(snapshot)


def test_damaged_checkpoint_is_caught_by_its_hash(detoxify_files: Path) -> None:
    home = _home() / "models" / "detoxify"
    home.mkdir(parents=True)
    shutil.copy(detoxify_files / "tiny.ckpt", home / "toxic_debiased-c7548aa0.ckpt")  # not the real bytes
    shutil.copytree(detoxify_files / "roberta-base", home / "roberta-base")
    with pytest.raises(RunError, match="sha256 does not start with c7548aa0"):
        get_toxicity_detector("detoxify")


def test_wrong_checkpoints_are_run_errors(detoxify_files: Path, tmp_path: Path) -> None:
    import torch

    saved = torch.load(detoxify_files / "tiny.ckpt", weights_only=True)
    shutil.copytree(detoxify_files / "roberta-base", tmp_path / "roberta-base")

    torch.save(saved["state_dict"], tmp_path / "bare.ckpt")  # a plain state dict, no config
    with pytest.raises(RunError, match="not a Detoxify checkpoint"):
        get_toxicity_detector("detoxify", model_path=str(tmp_path / "bare.ckpt"))

    partial = {
        "config": saved["config"],
        "state_dict": {k: v for k, v in saved["state_dict"].items() if "layer.1." not in k},
    }
    torch.save(partial, tmp_path / "partial.ckpt")
    with pytest.raises(RunError, match="missing"):
        get_toxicity_detector("detoxify", model_path=str(tmp_path / "partial.ckpt"))

    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(RunError, match="Cannot read"):
        get_toxicity_detector("detoxify", model_path=str(tmp_path / "junk.ckpt"))


# ---- toxigen -----------------------------------------------------------------------------------------


def test_toxigen_matches_pipeline_semantics(toxigen_folder: Path) -> None:
    from transformers import pipeline

    detector = get_toxicity_detector("toxigen", model_path=str(toxigen_folder))
    assert detector.score_names == ("toxicity",)
    assert detector.info["model"] == "tomh/toxigen_roberta"
    short = [t for t in TEXTS if len(t) < 200]  # fmeval's pipeline does not truncate: the tiny model can't
    got = [s["toxicity"] for s in detector.score(short)]
    classify = pipeline("text-classification", model=str(toxigen_folder), device="cpu")
    want = [x["score"] if x["label"] == "LABEL_1" else 1.0 - x["score"] for x in classify(short)]
    assert got == pytest.approx(want, abs=1e-5)
    assert len({round(g, 3) for g in got[:4]}) > 2
    long = detector.score([TEXTS[4]])  # truncated instead of failing
    assert 0.0 <= long[0]["toxicity"] <= 1.0


def test_toxigen_from_fmops_home_and_hf_cache(toxigen_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(RunError) as err:
        get_toxicity_detector("toxigen")
    assert str(_home() / "models" / "toxigen") in str(err.value)
    repo = tmp_path / "hf-hub" / "models--tomh--toxigen_roberta"
    shutil.copytree(toxigen_folder, repo / "snapshots" / "abc")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc")
    assert get_toxicity_detector("toxigen").info["source"] == "hf-cache"
    shutil.copytree(toxigen_folder, _home() / "models" / "toxigen")
    assert get_toxicity_detector("toxigen").info["source"] == "fmops-home"


def test_loading_never_touches_the_network(
    detoxify_files: Path, toxigen_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    attempts: list[object] = []

    def refuse(self: socket.socket, address: object, *args: object) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    fresh = shutil.copytree(detoxify_files, tmp_path / "detoxify")  # not in the process cache yet
    assert get_toxicity_detector("detoxify", model_path=str(fresh / "tiny.ckpt")).score(["hi"])
    fresh = shutil.copytree(toxigen_folder, tmp_path / "toxigen")
    assert get_toxicity_detector("toxigen", model_path=str(fresh)).score(["hi"])
    assert attempts == []


def test_toxigen_folder_without_weights_is_a_run_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="no config.json"):
        get_toxicity_detector("toxigen", model_path=str(tmp_path / "empty"))
