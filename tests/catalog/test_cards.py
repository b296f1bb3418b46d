"""Model cards: sizes as people write them, the shipped catalog, user overrides, the zoo's own cards."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fmops.catalog import ModelCard, format_count, load_catalog, parse_count
from fmops.catalog import _load as catalog_load
from fmops.core.errors import BadInputError
from fmops.core.registry import Registry

WELL_KNOWN = {
    "gpt-4o",
    "gpt-4o-mini",
    "claude-3.5-sonnet",
    "claude-3-haiku",
    "titan-text-express",
    "llama-3.1-8b-instruct",
    "llama-3.1-70b-instruct",
    "mistral-7b-instruct",
    "mixtral-8x7b-instruct",
    "gemma-2-9b-it",
    "qwen2.5-7b-instruct",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8k", 8_000),
        ("128K", 128_000),
        ("1M", 1_000_000),
        ("7B", 7_000_000_000),
        ("1.1M", 1_100_000),
        ("8.03B", 8_030_000_000),
        ("8_192", 8_192),
        ("4096", 4_096),
        (" 32k ", 32_000),
        (4096, 4_096),
    ],
)
def test_parse_count_reads_sizes_and_parameter_counts(text: str | int, expected: int) -> None:
    assert parse_count(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "7X", "-5", "k", "1.2.3M", True])
def test_parse_count_rejects_what_is_not_a_count(text: str) -> None:
    with pytest.raises(BadInputError):
        parse_count(text)


@given(st.integers(min_value=1, max_value=10**13))
def test_format_count_round_trips_within_its_three_significant_digits(value: int) -> None:
    assert parse_count(format_count(value)) == pytest.approx(value, rel=5e-3, abs=1)


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["", "k", "K", "m", "M", "b", "B"]))
def test_parse_count_multiplies_by_the_suffix(value: int, suffix: str) -> None:
    multiplier = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9}[suffix.lower()]
    assert parse_count(f"{value}{suffix}") == value * multiplier


def test_context_windows_read_as_providers_write_them() -> None:
    assert format_count(131_072, binary=True) == "128K"
    assert format_count(128_000, binary=True) == "128K"
    assert format_count(8_192, binary=True) == "8K"
    assert format_count(32_768, binary=True) == "32K"
    assert format_count(256, binary=True) == "256"
    assert format_count(8_030_000_000) == "8.03B"
    assert format_count(None) == "-"


def test_shipped_cards_cover_well_known_models_with_dated_example_prices() -> None:
    cards = load_catalog()
    assert set(cards) >= WELL_KNOWN
    for name in WELL_KNOWN:
        card = cards[name]
        assert card.as_of is not None and card.source, name
        assert card.price_is_illustrative, name
        assert card.prices is not None, name
        assert card.spec is not None and "/" in card.spec
        assert card.commercial_use is not None and card.fine_tunable is not None
    assert cards["gpt-4o-mini"].spec == "openai/gpt-4o-mini"
    assert cards["claude-3-haiku"].spec == "bedrock/anthropic.claude-3-haiku-20240307-v1:0"
    assert cards["llama-3.1-8b-instruct"].parameters == 8_030_000_000
    assert cards["mixtral-8x7b-instruct"].active_parameters == 12_900_000_000
    assert cards["gemma-2-9b-it"].availability == "self-hosted"
    assert cards["gpt-4o"].parameters is None  # undisclosed, not invented


def test_the_zoo_cards_come_from_the_zoo_module() -> None:
    pytest.importorskip("fmops.zoo._registry")
    cards = load_catalog()
    tiny = cards["zoo/tiny"]
    assert tiny.spec == "zoo/tiny"
    assert tiny.origin == "fmops zoo"
    assert tiny.availability == "self-hosted"
    assert tiny.parameters is not None and tiny.parameters < 10_000_000
    assert tiny.price_is_illustrative


def _only_sources(monkeypatch: pytest.MonkeyPatch, **sources: object) -> None:
    """The catalog's card sources replaced by `sources` (the installed ones, the zoo's, left out)."""
    registry = Registry("catalog card source")
    for name, source in sources.items():
        registry.register(name, source)
    monkeypatch.setattr(catalog_load, "CARD_SOURCES", registry)


def _entry(name: str, **changes: object) -> dict[str, object]:
    return {
        "name": name,
        "provider": "fmops zoo",
        "spec": name,
        "parameters": 1234,
        "context_window": 128,
        "availability": "self-hosted",
        "licence": "MIT",
        "commercial_use": True,
        "fine_tunable": False,
        "source": "fmops zoo v9",
        "prices": {"input_per_1k": 0.1, "output_per_1k": 0.2},
        "price_is_illustrative": True,
        **changes,
    }


def test_plugged_in_cards_and_their_measured_speed_reach_the_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    speed = {"zoo/fake": {"decode_tokens_per_s": {"value": 321.0, "source": "after training"}}}
    _only_sources(monkeypatch, fake=lambda: ("fmops zoo", [_entry("zoo/fake"), _entry("zoo/other")], speed))
    cards = load_catalog()
    fake = cards["zoo/fake"]
    assert fake.licence == "MIT" and fake.fine_tunable is False and fake.origin == "fmops zoo"
    assert fake.prices is not None and fake.prices.output_per_1k == 0.2
    assert fake.source == "fmops zoo v9"
    assert fake.measured["decode_tokens_per_s"].value == 321.0  # not a run's tokens/s
    assert "output_tokens_per_s" not in fake.measured
    assert cards["zoo/other"].measured == {}


def test_a_broken_card_source_does_not_break_the_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    def exploding() -> object:
        raise RuntimeError("half-built")

    _only_sources(monkeypatch, broken=exploding, bad_shape=lambda: ("x", [{"nameless": 1}], {}))
    cards = load_catalog()
    assert "gpt-4o" in cards and not any(name.startswith("zoo/") for name in cards)


def test_the_zoo_cards_come_through_the_entry_point() -> None:
    """The catalog imports no zoo: its cards come from the installed `fmops.catalog_cards` entry point."""
    assert "zoo" in catalog_load.CARD_SOURCES
    cards = load_catalog()
    assert {"zoo/tiny", "zoo/small"} <= set(cards) and cards["zoo/tiny"].origin == "fmops zoo"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_user_entries_override_by_name_and_add_new_cards(tmp_path: Path) -> None:
    user = _write(
        tmp_path / "mine.yaml",
        """
models:
  - name: gpt-4o-mini
    prices: {input_per_1k: 0.0001, output_per_1k: 0.0004}
  - name: our-llama
    provider: Us
    spec: openai/our-llama
    parameters: 8B
    context_window: 8k
    license: Llama 3.1 Community License
    commercial_use: true
    fine_tunable: true
    availability: self hosted
""",
    )
    cards = load_catalog(user)
    mini = cards["gpt-4o-mini"]
    assert mini.prices is not None and mini.prices.input_per_1k == 0.0001
    assert mini.price_is_illustrative is False  # the user's own price
    assert mini.context_window == 128_000 and mini.provider == "OpenAI"  # the rest is kept
    assert mini.origin == str(user)
    ours = cards["our-llama"]
    assert ours.parameters == 8_000_000_000 and ours.context_window == 8_000
    assert ours.licence == "Llama 3.1 Community License" and ours.availability == "self-hosted"


def test_user_catalog_from_env_and_from_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _no_user_catalog: Path
) -> None:
    entry = "models:\n  - {name: mine, provider: Me, availability: api}\n"
    _write(_no_user_catalog / "fmops" / "catalog.yaml", entry)
    assert "mine" in load_catalog()
    env_file = _write(tmp_path / "env.yaml", entry.replace("mine", "from-env"))
    monkeypatch.setenv("FMOPS_CATALOG", str(env_file))
    cards = load_catalog()
    assert "from-env" in cards and "mine" not in cards


def test_bad_user_catalogs_name_the_file_entry_and_field(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="not found"):
        load_catalog(tmp_path / "missing.yaml")
    bad = _write(tmp_path / "bad.yaml", "models:\n  - {name: x, provider: Me, availability: maybe}\n")
    with pytest.raises(BadInputError, match=r"bad\.yaml: models\[0\] \(x\): availability"):
        load_catalog(bad)
    bad_size = _write(
        tmp_path / "size.yaml",
        "models:\n  - {name: x, provider: Me, availability: api, context_window: lots}\n",
    )
    with pytest.raises(BadInputError, match="context_window"):
        load_catalog(bad_size)
    not_list = _write(tmp_path / "list.yaml", "models: {name: x}\n")
    with pytest.raises(BadInputError, match="list"):
        load_catalog(not_list)
    bad_spec = _write(
        tmp_path / "spec.yaml", "models:\n  - {name: x, provider: Me, availability: api, spec: nospec}\n"
    )
    with pytest.raises(BadInputError, match="spec"):
        load_catalog(bad_spec)


def test_blended_price_is_the_mean_of_input_and_output() -> None:
    card = ModelCard(
        name="m", provider="p", availability="api", prices={"input_per_1k": 0.001, "output_per_1k": 0.003}
    )
    assert card.price_per_1k == pytest.approx(0.002)
    hourly = ModelCard(name="h", provider="p", availability="self-hosted", prices={"per_hour": 1.0})
    assert hourly.price_per_1k is None
