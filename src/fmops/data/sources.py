"""Where dataset bytes come from. Readers only see a DataSource, so s3:// and https:// plug in here."""

from __future__ import annotations

import importlib
import re
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from fmops.core.errors import BadInputError


class DataSource(ABC):
    """A dataset file, or a folder of files (a Hugging Face `save_to_disk` folder)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    @property
    @abstractmethod
    def name(self) -> str:
        """The last path component, used to infer the format from its extension."""

    @property
    @abstractmethod
    def is_folder(self) -> bool: ...

    @abstractmethod
    def read_bytes(self, member: str | None = None) -> bytes:
        """The whole file; for a folder, the file `member` inside it."""

    @abstractmethod
    def has_member(self, member: str) -> bool:
        """Whether a folder holds the file `member` (False for a file)."""


class LocalSource(DataSource):
    """A local path (given as a plain path or a file:// URI)."""

    def __init__(self, uri: str, path: Path) -> None:
        super().__init__(uri)
        self.path = path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def is_folder(self) -> bool:
        return self.path.is_dir()

    def read_bytes(self, member: str | None = None) -> bytes:
        target = self.path / member if member else self.path
        try:
            return target.read_bytes()
        except FileNotFoundError:
            raise BadInputError(f"{self.uri}: no such file {member or ''}".rstrip()) from None
        except OSError as e:
            raise BadInputError(
                f"{self.uri}: cannot read {member or 'the file'} ({e.strerror or e})"
            ) from None

    def has_member(self, member: str) -> bool:
        return (self.path / member).is_file()


def _open_local(uri: str) -> DataSource:
    if uri.lower().startswith("file:"):
        parsed = urllib.parse.urlparse(uri)
        if parsed.netloc not in ("", "localhost"):
            raise BadInputError(f"{uri}: file:// URIs must name a local path (host {parsed.netloc!r} given)")
        path = Path(urllib.request.url2pathname(parsed.path))
    else:
        path = Path(uri).expanduser()
    if not path.exists():
        raise BadInputError(f"{uri}: no such file or folder")
    return LocalSource(uri, path)


# scheme -> opener; s3/https register here and everything downstream stays the same.
_OPENERS: dict[str, Callable[[str], DataSource]] = {"": _open_local, "file": _open_local}
# Schemes whose module registers itself on first use, so that boto3/httpx load only when needed.
_LAZY_SCHEMES: dict[str, str] = {
    scheme: "fmops.data.remote" for scheme in ("s3", "s3n", "s3a", "http", "https")
}
# Two or more letters, so that a Windows drive letter ("C:/data.jsonl") stays a path.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")


def register_scheme(scheme: str, opener: Callable[[str], DataSource]) -> None:
    """Make `open_source` hand URIs with `scheme` to `opener`."""
    _OPENERS[scheme.lower()] = opener


def uri_scheme(uri: str) -> str:
    """The URI scheme in lower case, or "" for a plain path."""
    match = _SCHEME.match(uri)
    if match:
        return match.group(1).lower()
    return "file" if uri.lower().startswith("file:") else ""


def open_source(uri: str) -> DataSource:
    """Open `uri`: a local path, file://, s3:// (s3n://, s3a://), https:// or http://."""
    scheme = uri_scheme(uri)
    opener = _OPENERS.get(scheme)
    if opener is None and scheme in _LAZY_SCHEMES:
        importlib.import_module(_LAZY_SCHEMES[scheme])
        opener = _OPENERS.get(scheme)
    if opener is None:
        raise BadInputError(
            f"{uri}: URI scheme '{scheme}://' is not supported yet "
            "(use a local path, file://, s3://, https:// or http://)"
        )
    return opener(uri)
