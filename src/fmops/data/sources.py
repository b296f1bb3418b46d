"""Where dataset bytes come from. Readers only see a DataSource, so s3://, https:// and plug-in schemes
plug in here, through the `DATA_SOURCES` registry."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from fmops.core.errors import BadInputError
from fmops.core.registry import Registry


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


#: Openers by URI scheme (the one registry mechanism; "" is a plain path). Remote schemes are registered
#: by path, so boto3/httpx load only when such a URI is opened; plug-ins add schemes through the
#: `fmops.data_sources` entry points ("scheme = package.module:opener", opener(uri) -> DataSource).
DATA_SOURCES: Registry[Callable[[str], DataSource]] = Registry("dataset source", "fmops.data_sources")
DATA_SOURCES.register("", _open_local)
DATA_SOURCES.register("file", _open_local)
for _scheme in ("s3", "s3n", "s3a", "http", "https"):
    DATA_SOURCES.register(_scheme, "fmops.data.remote:open_remote")
# Two or more letters, so that a Windows drive letter ("C:/data.jsonl") stays a path.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")


def uri_scheme(uri: str) -> str:
    """The URI scheme in lower case, or "" for a plain path."""
    match = _SCHEME.match(uri)
    if match:
        return match.group(1).lower()
    return "file" if uri.lower().startswith("file:") else ""


def open_source(uri: str) -> DataSource:
    """Open `uri`: a local path, file://, s3:// (s3n://, s3a://), https:// or http://."""
    scheme = uri_scheme(uri)
    if scheme not in DATA_SOURCES:
        raise BadInputError(
            f"{uri}: URI scheme '{scheme}://' is not supported yet "
            "(use a local path, file://, s3://, https:// or http://)"
        )
    opener = DATA_SOURCES.get(scheme)
    return opener(uri)
