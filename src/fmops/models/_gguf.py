"""GGUF files as a model source: converted once to a Hugging Face folder, cached by the file's sha256.

transformers reads a GGUF file by dequantizing every tensor and parsing the vocabulary several times
(~17 s for a 135M model on 2 cores), and refuses to fine-tune a model loaded that way. A saved folder
reloads in ~2 s and trains like any other, so each distinct file (by content, not path) is converted
once into `FMOPS_GGUF_CACHE` (default `FMOPS_HOME/models/gguf`) and loaded from there afterwards.

    folder = gguf_model_folder(Path("SmolLM2-135M-Instruct.Q4_1.gguf"), sha256="b179...")
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from fmops.core.errors import BadInputError, MissingDependencyError, RunError
from fmops.core.optional import one_model_load_at_a_time, torch_and_transformers
from fmops.core.settings import fmops_home

MANIFEST = "fmops-gguf.json"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_LOG = logging.getLogger(__name__)


class GGUFConversion(BaseModel):
    """What a cached folder was converted from (written as `fmops-gguf.json` inside the folder)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str
    file_name: str
    source_path: str
    source_size: int
    source_mtime_ns: int
    architecture: str
    tensor_types: dict[str, int]
    parameters: int
    transformers_version: str
    converted_at: str
    seconds: float


def read_conversion(folder: Path) -> GGUFConversion:
    """The conversion manifest of a cached folder; a missing or unreadable one is an error naming the file."""
    path = folder / MANIFEST
    try:
        return GGUFConversion.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(f"{path}: not found (not a folder converted from a GGUF file)") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(map(str, first["loc"])) or "manifest"
        raise BadInputError(f"{path}: {field}: {first['msg']}") from None


def gguf_cache_dir() -> Path:
    """Where converted folders live: $FMOPS_GGUF_CACHE, else FMOPS_HOME/models/gguf."""
    explicit = os.environ.get("FMOPS_GGUF_CACHE")
    folder = Path(explicit).expanduser() if explicit else fmops_home() / "models" / "gguf"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def gguf_model_folder(path: Path, *, sha256: str | None = None, cache: Path | None = None) -> Path:
    """The Hugging Face folder converted from the GGUF file `path`, converting it on first use.

    `sha256`, when given, must match the file's content (a mismatch is refused before anything loads).
    A file already converted is recognised by path, size and modification time without re-hashing.
    """
    if sha256 is not None and not _SHA256.fullmatch(sha256.lower()):
        raise BadInputError(f"sha256={sha256!r}: expected 64 hexadecimal characters")
    path = path.expanduser().resolve()
    if not path.is_file():
        raise BadInputError(f"{path}: GGUF file not found")
    cache = cache or gguf_cache_dir()
    known = _known_conversion(path, cache)
    digest = known.sha256 if known is not None else file_sha256(path)
    if sha256 is not None and digest != sha256.lower():
        raise BadInputError(
            f"{path}: sha256 is {digest}, expected {sha256.lower()}: the file is corrupt or not the pinned one"
        )
    folder = cache / digest
    if _complete(folder):
        return folder
    with _file_lock(cache / f"{digest}.lock"):
        if not _complete(folder):  # another process may have converted it while we waited
            _convert(path, digest, folder)
    return folder


def check_gguf(path: Path) -> tuple[str, Counter[str]]:
    """(architecture, tensor types with counts) of a GGUF file; BadInputError when it cannot be converted."""
    try:
        import gguf
        from gguf.quants import _type_traits
    except ImportError:
        raise MissingDependencyError("gguf", "hf", "Reading a GGUF file") from None
    try:
        reader = gguf.GGUFReader(str(path))
    except (ValueError, OSError) as exc:
        raise BadInputError(f"{path}: not a readable GGUF file: {exc}") from None
    field = reader.get_field("general.architecture")
    architecture = str(field.contents()) if field is not None else "unknown"
    dense = {gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16}
    supported = dense | set(_type_traits)
    types: Counter[str] = Counter()
    for tensor in reader.tensors:
        if tensor.tensor_type not in supported:
            names = ", ".join(sorted(t.name for t in supported))
            raise BadInputError(
                f"{path}: tensor {tensor.name} uses quantization type {tensor.tensor_type.name}, which cannot be "
                f"dequantized (supported: {names})"
            )
        types[tensor.tensor_type.name] += 1
    return architecture, types


def _known_conversion(path: Path, cache: Path) -> GGUFConversion | None:
    stat = path.stat()
    for manifest in cache.glob(f"*/{MANIFEST}"):
        try:
            conv = read_conversion(manifest.parent)
        except BadInputError:
            continue
        same = (conv.source_path, conv.source_size, conv.source_mtime_ns) == (
            str(path),
            stat.st_size,
            stat.st_mtime_ns,
        )
        if same:
            return conv
    return None


def _complete(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Across processes (test workers, two CLI calls): one converts, the other waits and reuses it."""
    with path.open("a") as fh:
        try:
            import fcntl
        except ImportError:  # no advisory locks (Windows): at worst both convert, the rename keeps one
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _convert(path: Path, digest: str, folder: Path) -> None:
    architecture, types = check_gguf(path)
    torch, transformers = torch_and_transformers("Converting a GGUF file")
    _LOG.warning("converting %s to a Hugging Face folder, once (a 135M model takes ~20 s)", path.name)
    started = time.perf_counter()
    source = {
        "pretrained_model_name_or_path": str(path.parent),
        "gguf_file": path.name,
        "local_files_only": True,
    }
    try:
        with one_model_load_at_a_time():
            tokenizer = transformers.AutoTokenizer.from_pretrained(**source)
            model = transformers.AutoModelForCausalLM.from_pretrained(**source, dtype=torch.float32)
    except ValueError as exc:  # e.g. "GGUF model with architecture X is not supported yet."
        raise BadInputError(f"{path}: transformers cannot load this GGUF file: {exc}") from None
    except (NotImplementedError, OSError) as exc:
        raise RunError(f"{path}: conversion failed: {exc}") from None
    # The folder holds dense weights: drop the "gguf" quantization record, or save_pretrained refuses.
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    context = getattr(model.config, "max_position_embeddings", None)
    if context:
        tokenizer.model_max_length = int(context)
    tmp = Path(tempfile.mkdtemp(prefix=f".{digest[:16]}-", dir=folder.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        stat = path.stat()
        conversion = GGUFConversion(
            sha256=digest,
            file_name=path.name,
            source_path=str(path),
            source_size=stat.st_size,
            source_mtime_ns=stat.st_mtime_ns,
            architecture=architecture,
            tensor_types=dict(sorted(types.items())),
            parameters=int(sum(p.numel() for p in model.parameters())),
            transformers_version=transformers.__version__,
            converted_at=datetime.now(UTC).isoformat(timespec="seconds"),
            seconds=round(time.perf_counter() - started, 2),
        )
        # The manifest is written last: a folder without one is an interrupted conversion.
        (tmp / MANIFEST).write_text(conversion.model_dump_json(indent=2), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    del model
