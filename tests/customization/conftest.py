"""Fixtures for fine-tuning tests: a tiny random GPT-2 (seconds to train), and small data files."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> str:
    """`hf/PATH` of a 2-layer, 32-dim GPT-2 with a chat template (built once per session)."""
    pytest.importorskip("torch")
    from tests.support.tiny_hf import build_tiny_gpt2

    return f"hf/{build_tiny_gpt2(tmp_path_factory.mktemp('ft') / 'tiny', chat_template=True)}"


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def qa_data(tmp_path: Path) -> Path:
    """Sixteen prompt/completion records (short answers the tiny model can learn a little of)."""
    return write_jsonl(
        tmp_path / "train.jsonl",
        ({"prompt": f"Code of item {i}:", "completion": f" c{i % 4}"} for i in range(16)),
    )
