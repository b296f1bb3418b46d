"""The one registry mechanism: names, lazy targets, plug-ins through entry points, recorded arguments."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from fmops.core import registry as registry_module
from fmops.core.errors import BadInputError
from fmops.core.registry import Registry, registry_info


@dataclass
class Widget:
    size: int = 1


@dataclass(frozen=True)
class FrozenWidget:
    size: int = 1


def test_decorated_entries_are_found_by_name_case_insensitively() -> None:
    widgets: Registry[type[Widget]] = Registry("widget")

    @widgets.register("Small")
    class SmallWidget(Widget):
        pass

    assert widgets.get("small") is SmallWidget
    assert "SMALL" in widgets
    assert widgets.names() == ["small"]
    assert list(widgets) == ["small"]


def test_an_unknown_name_is_a_user_error_listing_the_known_ones() -> None:
    widgets: Registry[type[Widget]] = Registry("widget")
    widgets.register("a", Widget)
    with pytest.raises(BadInputError, match=r"unknown widget 'b'; known: a"):
        widgets.get("b")


def test_a_target_given_by_path_is_imported_on_first_use() -> None:
    widgets: Registry[object] = Registry("widget")
    widgets.register("ordered", "collections:OrderedDict")
    from collections import OrderedDict

    assert widgets.get("ordered") is OrderedDict


def test_create_records_name_and_arguments_for_a_manifest() -> None:
    widgets: Registry[type[Widget]] = Registry("widget")
    widgets.register("w", Widget)
    made = widgets.create("W", size=3)
    assert made == Widget(size=3)
    assert registry_info(made) == {"name": "w", "args": {"size": 3}}
    assert registry_info(Widget()) is None


def test_frozen_results_are_returned_without_a_record() -> None:
    widgets: Registry[type[FrozenWidget]] = Registry("widget")
    widgets.register("f", FrozenWidget)
    made = widgets.create("f", size=2)
    assert made == FrozenWidget(size=2)
    assert registry_info(made) is None


def test_plug_ins_come_from_the_entry_point_group_without_replacing_built_ins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen_groups: list[str] = []

    def fake_entry_points(group: str) -> list[SimpleNamespace]:
        seen_groups.append(group)
        return [
            SimpleNamespace(name="Plugged", value="collections:Counter"),
            SimpleNamespace(name="builtin", value="collections:deque"),
        ]

    monkeypatch.setattr(registry_module, "entry_points", fake_entry_points)
    widgets: Registry[object] = Registry("widget", "fmops.widgets")
    widgets.register("builtin", Widget)
    from collections import Counter

    assert widgets.get("plugged") is Counter
    assert widgets.get("builtin") is Widget
    widgets.names()
    assert seen_groups == ["fmops.widgets"]  # read once
