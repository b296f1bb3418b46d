"""The model layer's spec-resolver hook: `PREFIX:REFERENCE` specs resolved by a registered plug-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fmops.core.errors import BadInputError
from fmops.models import SPEC_RESOLVERS, ModelSpec, get_model, parse_model_spec
from fmops.models._spec import has_spec_resolver


@pytest.fixture
def alias_resolver() -> Iterator[list[str]]:
    seen: list[str] = []

    def resolve(reference: str) -> ModelSpec:
        seen.append(reference)
        if reference != "good":
            raise BadInputError(f"alias:{reference}: unknown")
        return ModelSpec(provider="echo", model="resolved", args={"prefix": ">"})

    SPEC_RESOLVERS.register("alias", resolve)
    yield seen
    SPEC_RESOLVERS._entries.pop("alias")


def test_a_registered_prefix_resolves_everywhere_a_spec_goes(alias_resolver: list[str]) -> None:
    spec = parse_model_spec("alias:good", ["max_concurrency=2"])
    assert (spec.provider, spec.model, spec.args) == (
        "echo",
        "resolved",
        {"prefix": ">", "max_concurrency": 2},
    )
    model = get_model("alias:good", store=False)
    assert model.name == "alias:good"
    with pytest.raises(BadInputError, match="alias:bad: unknown"):
        get_model("alias:bad", store=False)
    assert alias_resolver == ["good", "good", "bad"]


def test_specs_without_a_registered_prefix_are_untouched(alias_resolver: list[str]) -> None:
    assert str(parse_model_spec("bedrock/anthropic.claude-v2:1")) == "bedrock/anthropic.claude-v2:1"
    assert not has_spec_resolver("hf/./models/x:y") and not has_spec_resolver("nope:thing")
    assert has_spec_resolver("registry:qa@production")  # the registry's entry point
    with pytest.raises(BadInputError, match="expected PROVIDER/MODEL"):
        parse_model_spec("nope:thing")
    assert alias_resolver == []
