"""The import graph keeps the layers of ARCHITECTURE.md: no upward import, no circle between packages, and
no import of another package's private module (`fmops.x._y`).

Built with grimp (import-linter's graph library) on the installed source, so every import counts,
including those inside functions. Packages that do not exist yet are simply absent from the graph.
`KNOWN` lists the violations present when this test was written, each with who should remove it; a new
violation fails the test, and an entry that no longer happens must be deleted (so the list stays true).
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

import grimp
import pytest

#: ARCHITECTURE.md "Layers", top to bottom; a package may import its own layer and the ones below.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli", "web", "gateway", "serving"),
    ("pipelines", "selection", "reports"),
    ("comparison",),
    ("evaluation", "customization"),
    ("registry", "guardrails", "zoo"),
    ("models", "data", "metrics", "perturbations", "catalog"),
    ("store", "core"),
)
LEVEL = {package: level for level, packages in enumerate(LAYERS) for package in packages}

#: (importer, imported) pairs allowed for now, and why / whose.
KNOWN: dict[tuple[str, str], str] = {}


@cache
def _edges() -> tuple[tuple[str, str], ...]:
    """Every direct import between two fmops modules of different top-level packages."""
    graph = grimp.build_graph("fmops", cache_dir=None)
    edges = []
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            if _package(importer) != _package(imported):
                edges.append((importer, imported))
    return tuple(sorted(edges))


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is_private(module: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in module.split(".")[2:])


def _upward() -> set[tuple[str, str]]:
    return {
        (a, b)
        for a, b in _edges()
        if _package(a) in LEVEL and _package(b) in LEVEL and LEVEL[_package(b)] < LEVEL[_package(a)]
    }


def _private() -> set[tuple[str, str]]:
    return {(a, b) for a, b in _edges() if _is_private(b)}


def _cycles() -> set[tuple[str, str]]:
    """Package edges that close a circle (b reaches a again), leaving the known allowances out."""
    edges = [edge for edge in _edges() if edge not in KNOWN]
    follows: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        follows[_package(a)].add(_package(b))

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            for nxt in follows[stack.pop()]:
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    return {(a, b) for a, b in edges if reaches(_package(b), _package(a))}


def _report(found: set[tuple[str, str]]) -> list[str]:
    return [f"{a} -> {b}" for a, b in sorted(found - KNOWN.keys())]


def test_every_package_has_a_layer() -> None:
    packages = {_package(m) for edge in _edges() for m in edge} - {"", "__main__"}
    assert packages <= LEVEL.keys(), f"add to LAYERS (and ARCHITECTURE.md): {sorted(packages - LEVEL.keys())}"


def test_no_upward_import() -> None:
    assert _report(_upward()) == []


def test_no_private_import_across_packages() -> None:
    assert _report(_private()) == []


def test_no_circle_between_packages() -> None:
    assert _report(_cycles()) == []


def test_the_known_list_is_current() -> None:
    """An allowance that no longer happens is deleted, so the list keeps telling the truth."""
    assert sorted(set(KNOWN) - set(_edges())) == []


@pytest.mark.parametrize(
    ("importer", "imported"),
    [("fmops.models._model", "fmops.zoo"), ("fmops.catalog._load", "fmops.zoo._store")],
)
def test_the_checks_catch_what_they_should(importer: str, imported: str) -> None:
    """The rules themselves, on made-up edges: upward and private imports are found."""
    assert LEVEL[_package(imported)] < LEVEL[_package(importer)] or _is_private(imported)
