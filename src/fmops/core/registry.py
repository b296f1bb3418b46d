"""One registry mechanism for every extension point (providers, fine-tuning methods, guardrail detectors,
pipeline steps, ...).

An extension point is a `Registry` with a kind ("guardrail detector") and, optionally, an entry-point group
through which other packages add to it. Entries are registered by name, either as the object itself (a
decorated factory or class) or as "package.module:attribute", imported on first use so heavy dependencies
stay lazy. `Registry.create(name, **args)` builds an instance and records the name and constructor
arguments on it, so a manifest can say (and rebuild) exactly what produced a result:

    DETECTORS: Registry[type[Detector]] = Registry("guardrail detector", "fmops.guardrail_detectors")

    @DETECTORS.register("regex")
    class RegexDetector(Detector): ...

    detector = DETECTORS.create("regex", patterns=[...])
    registry_info(detector)  # {"name": "regex", "args": {"patterns": [...]}}
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from fmops.core.errors import BadInputError

T = TypeVar("T")

_INFO_ATTRIBUTE = "__fmops_registry_info__"


class Registry(Generic[T]):
    """Named entries of one kind; lazily imported targets; plug-ins from an entry-point group."""

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, T | str] = {}
        self._entry_points_loaded = entry_point_group is None

    def register(self, name: str, target: T | str | None = None) -> Any:
        """Register `target` under `name` (case-insensitive); without a target, a decorator that does."""
        key = name.lower()
        if target is not None:
            self._entries[key] = target
            return target

        def decorate(obj: T) -> T:
            self._entries[key] = obj
            return obj

        return decorate

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return isinstance(name, str) and name.lower() in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> T:
        """The entry registered under `name`, importing it now if it was registered by path."""
        self._load_entry_points()
        key = name.lower()
        target = self._entries.get(key)
        if target is None:
            known = ", ".join(self.names()) or "none"
            raise BadInputError(f"unknown {self.kind} {name!r}; known: {known}")
        if isinstance(target, str):
            module, _, attribute = target.partition(":")
            target = getattr(importlib.import_module(module), attribute)
            self._entries[key] = target
        return target  # type: ignore[return-value]

    def create(self, name: str, /, **args: Any) -> Any:
        """Call the entry (a class or factory) with `args`, recording name and arguments on the result."""
        factory = self.get(name)
        if not callable(factory):
            raise TypeError(f"{self.kind} {name!r} is not a factory")
        made = factory(**args)
        with contextlib.suppress(AttributeError, TypeError):  # frozen or slotted objects keep no record
            setattr(made, _INFO_ATTRIBUTE, {"name": name.lower(), "args": dict(args)})
        return made

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.entry_point_group or ""):
            self._entries.setdefault(ep.name.lower(), ep.value)


def registry_info(obj: object) -> dict[str, Any] | None:
    """{"name", "args"} of an object built by `Registry.create`, else None."""
    return getattr(obj, _INFO_ATTRIBUTE, None)


__all__ = ["Registry", "registry_info"]
