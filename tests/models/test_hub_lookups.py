"""Hugging Face Hub lookups stay in the local cache unless the user asks for a download (`-M download=true`):
nothing in fmops reaches the network on its own, so tests and the quickstart run offline."""

from __future__ import annotations

from typing import Any

import pytest

from fmops.core.errors import BadInputError
from fmops.models import get_model
from fmops.models._packaged import hub_cache_folder

huggingface_hub = pytest.importorskip("huggingface_hub")
from huggingface_hub.errors import LocalEntryNotFoundError  # noqa: E402


@pytest.fixture
def hub_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every Hub call fmops makes, recorded; each answers "not in the cache" like an empty cache does."""
    calls: list[dict[str, Any]] = []

    def record(*args: Any, **kwargs: Any) -> str:
        calls.append(kwargs)
        raise LocalEntryNotFoundError("not in the local cache")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", record)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", record)
    return calls


def test_packaged_model_lookup_reads_the_cache_only(hub_calls: list[dict[str, Any]]) -> None:
    assert hub_cache_folder("HuggingFaceTB/SmolLM2-135M-Instruct") is None
    assert hub_calls and all(call["local_files_only"] is True for call in hub_calls)


def test_gguf_from_the_hub_needs_an_explicit_download(hub_calls: list[dict[str, Any]]) -> None:
    with pytest.raises(BadInputError, match="download=true fetches it"):
        get_model("hf/org/repo", ["gguf_file=model.gguf"], store=False)
    assert [call["local_files_only"] for call in hub_calls] == [True]


def test_an_asked_download_that_fails_says_what_to_do(hub_calls: list[dict[str, Any]]) -> None:
    with pytest.raises(BadInputError, match="copy the file here and give its path"):
        get_model("hf/org/repo", ["gguf_file=model.gguf", "download=true"], store=False)
    assert [call["local_files_only"] for call in hub_calls] == [False]
