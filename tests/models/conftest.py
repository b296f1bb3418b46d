"""Fixtures for the model layer: an isolated FMOPS_HOME, the loopback OpenAI server, a tiny HF model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.openai_server import OpenAITestServer


@pytest.fixture(autouse=True)
def fmops_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "fmops-home"
    monkeypatch.setenv("FMOPS_HOME", str(home))
    for name in ("FMOPS_STORE_URL", "FMOPS_MODELS", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def server() -> Iterator[OpenAITestServer]:
    with OpenAITestServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-dim random GPT-2 with a locally trained tokenizer that has a BOS token."""
    pytest.importorskip("torch")
    from tests.support.tiny_hf import build_tiny_gpt2

    return build_tiny_gpt2(tmp_path_factory.mktemp("hf") / "tiny")


@pytest.fixture(scope="session")
def tiny_gpt2_chat_nobos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same architecture, a tokenizer without BOS, with a chat template."""
    pytest.importorskip("torch")
    from tests.support.tiny_hf import build_tiny_gpt2

    return build_tiny_gpt2(tmp_path_factory.mktemp("hf") / "tiny-chat", bos=False, chat_template=True, seed=1)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (marked anyio) run on asyncio, the loop fmops uses."""
    return "asyncio"
