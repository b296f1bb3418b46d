"""Folders shared by the report tests: built once per session (per xdist worker), in their own FMOPS_HOME."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reports._fixtures import build_comparison, build_run


def _built(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Path]) -> Path:
    """Build with FMOPS_HOME pointing at a private folder (the echo models' response store goes there)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FMOPS_HOME", str(factory.mktemp(f"{name}-home")))
        return build(factory.mktemp(name))


@pytest.fixture(scope="session")
def comparison_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _built(tmp_path_factory, "comparison", build_comparison)


@pytest.fixture(scope="session")
def byo_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _built(tmp_path_factory, "byo", build_run)


@pytest.fixture(scope="session")
def robustness_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _built(
        tmp_path_factory,
        "robust",
        lambda root: build_run(root, "qa_accuracy_semantic_robustness", model="echo/r"),
    )
