"""Fixtures for the server: a tiny local GPT-2 served on loopback, and quick echo-model servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from fmops.serving import BackgroundServer, create_app, load_model


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "FMOPS_STORE_URL", "FMOPS_MODELS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random GPT-2 with a BOS token and a chat template (serves chat and completions)."""
    pytest.importorskip("torch")
    from tests.support.tiny_hf import build_tiny_gpt2

    return build_tiny_gpt2(tmp_path_factory.mktemp("serve") / "tiny", chat_template=True)


@pytest.fixture(scope="session")
def hf_server(tiny_folder: Path) -> Iterator[BackgroundServer]:
    """The tiny model served as `tiny`, batches of up to 8 (one server for the whole session)."""
    model = load_model(f"hf/{tiny_folder}", max_batch_size=8)
    with BackgroundServer(create_app(model, served_name="tiny", batch_wait_ms=10)) as server:
        yield server


ServerFactory = Callable[..., AbstractContextManager[BackgroundServer]]


@pytest.fixture
def echo_server() -> ServerFactory:
    """`with echo_server(args=[...], **create_app_options) as server:` serves echo/e as `e`."""

    @contextmanager
    def make(args: list[str] | None = None, **options: Any) -> Iterator[BackgroundServer]:
        model = load_model("echo/e", args or [])
        options.setdefault("served_name", "e")
        with BackgroundServer(create_app(model, **options)) as server:
            yield server

    return make
