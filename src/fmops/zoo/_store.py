"""Where trained zoo models live: `fmops_home()/zoo/NAME`, trained on first use, written atomically.

A folder counts only if its zoo.json names the current ZOO_VERSION; anything else is retrained. Training
happens in a temporary sibling folder that is renamed into place, under a per-model file lock, so an
interrupted run or two processes at once never leave a half-written model behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError, RunError
from fmops.core.settings import fmops_home
from fmops.zoo import _registry
from fmops.zoo._registry import META_FILE, PREFIX, ZooCard, ZooSpec


def _spec(name: str) -> ZooSpec:
    key = name if name.startswith(PREFIX) else PREFIX + name
    spec = _registry._SPECS.get(key)
    if spec is None:
        raise BadInputError(f"unknown zoo model '{name}': choose one of {', '.join(_registry._SPECS)}")
    return spec


def zoo_dir() -> Path:
    """The folder that holds every trained zoo model."""
    return fmops_home() / "zoo"


def _folder(spec: ZooSpec) -> Path:
    return zoo_dir() / spec.short_name


def zoo_model_info(name: str) -> dict[str, Any] | None:
    """The zoo.json of a trained, current-version model (training figures), or None when there is none."""
    path = _folder(_spec(name)) / META_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("zoo_version") == _registry.ZOO_VERSION else None


def zoo_model_path(
    name: str, *, train_if_missing: bool = True, progress: Callable[[int, int], None] | None = None
) -> Path:
    """The Hugging Face folder of zoo model `name` ("zoo/tiny" or "tiny"), trained first if needed.

    Any cached seed of the current version is accepted; a missing or outdated model is trained with
    seed 0, or, with `train_if_missing=False`, reported as an error that says how to train it.
    """
    spec = _spec(name)
    if zoo_model_info(spec.name) is not None:
        return _folder(spec)
    if not train_if_missing:
        raise RunError(
            f"zoo model {spec.name} is not trained (or is from another zoo version): "
            f"run `fmops models train {spec.name}`"
        )
    return train_zoo_model(spec.name, progress=progress)


def train_zoo_model(
    name: str, *, seed: int = 0, force: bool = False, progress: Callable[[int, int], None] | None = None
) -> Path:
    """Train zoo model `name` with `seed` into the cache, unless that exact model is already there.

    `force` retrains anyway. `progress(done, total)` is called after every optimizer step.
    """
    from fmops.zoo._train import train_into

    spec = _spec(name)
    target = _folder(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / f".{spec.short_name}.lock"):
        meta = zoo_model_info(spec.name)
        if not force and meta is not None and meta.get("seed") == seed:
            return target
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{spec.short_name}.tmp-"))
        try:
            train_into(spec, tmp, seed=seed, progress=progress)
            _replace_dir(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _replace_dir(new: Path, target: Path) -> None:
    """Move `new` to `target`; an old `target` is moved aside first and deleted after."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.replace(target, old / "model")
    umask = os.umask(0)
    os.umask(umask)
    new.chmod(0o777 & ~umask)  # mkdtemp made it private; the model folder is an ordinary cache folder
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on `path` (POSIX); elsewhere a no-op."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _card(spec: ZooSpec, tokens_per_second: float | None = None) -> ZooCard:
    return ZooCard(
        name=spec.name,
        description=spec.description,
        parameters=spec.parameters,
        context_window=spec.context_window,
        tokens_per_second=tokens_per_second,
        price_per_1k_input_tokens=spec.price_per_1k_input_tokens,
        price_per_1k_output_tokens=spec.price_per_1k_output_tokens,
    )


def zoo_card(name: str) -> ZooCard:
    """The card of zoo model `name`, with the decoding speed measured when it was trained (if it was)."""
    spec = _spec(name)
    meta = zoo_model_info(spec.name)
    return _card(spec, meta.get("tokens_per_second") if meta else None)


class _ZooModels(Mapping[str, ZooCard]):
    """Every zoo model's card by name; read on access, so a trained model's card has its measured speed."""

    def __getitem__(self, name: str) -> ZooCard:
        if name not in _registry._SPECS:
            raise KeyError(name)
        return zoo_card(name)

    def __iter__(self) -> Iterator[str]:
        return iter(_registry._SPECS)

    def __len__(self) -> int:
        return len(_registry._SPECS)

    def __repr__(self) -> str:
        return f"ZOO_MODELS({', '.join(self)})"


ZOO_MODELS: Mapping[str, ZooCard] = _ZooModels()
