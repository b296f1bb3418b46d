"""Model specs, -M arguments, models.yaml and the provider registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmops.core.errors import BadInputError
from fmops.core.registry import Registry
from fmops.models import (
    ModelAPI,
    Prices,
    get_model,
    load_models_config,
    local_folder_provider,
    parse_model_args,
    parse_model_spec,
    provider_names,
    register_provider,
)
from fmops.models._registry import PROVIDERS, availability


def test_spec_keeps_slashes_and_colons_after_the_provider() -> None:
    assert parse_model_spec("hf/./path/to/model").model == "./path/to/model"
    spec = parse_model_spec("bedrock/anthropic.claude-3-haiku-20240307-v1:0")
    assert (spec.provider, spec.model) == ("bedrock", "anthropic.claude-3-haiku-20240307-v1:0")
    spec = parse_model_spec("OpenAI/my-model", ["base_url=http://127.0.0.1:8000/v1", "stream=true"])
    assert spec.provider == "openai"
    assert spec.args == {"base_url": "http://127.0.0.1:8000/v1", "stream": True}
    assert str(spec) == "openai/my-model"


@pytest.mark.parametrize("bad", ["gpt-4o", "/model", "openai/", ""])
def test_bad_spec_says_what_is_expected(bad: str) -> None:
    with pytest.raises(BadInputError, match="PROVIDER/MODEL"):
        parse_model_spec(bad)


def test_args_become_typed_values() -> None:
    args = parse_model_args(["a=1", "b=0.5", "c=false", "d=none", "e=text", 'f={"x": 1}', "g=1e-3", "h=a=b"])
    assert args == {
        "a": 1,
        "b": 0.5,
        "c": False,
        "d": None,
        "e": "text",
        "f": {"x": 1},
        "g": 0.001,
        "h": "a=b",
    }
    with pytest.raises(BadInputError, match="KEY=VALUE"):
        parse_model_args(["novalue"])


def test_models_yaml(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        """
models:
  - name: cheap
    spec: echo/tiny
    args: {prefix: "A: "}
    prices: {input_per_1k: 0.5, output_per_1k: 1.5}
  - name: self-hosted
    spec: openai/llama -M
    args: {base_url: "http://127.0.0.1:9/v1"}
    prices: {per_hour: 3.6}
""".replace(" -M", "")
    )
    entries = load_models_config(path)
    assert list(entries) == ["cheap", "self-hosted"]
    assert entries["cheap"].prices == Prices(input_per_1k=0.5, output_per_1k=1.5)
    model = get_model("cheap", config=path, store=False)
    assert model.name == "cheap"
    assert model.prices is not None and model.prices.input_per_1k == 0.5
    result = model.generate_sync(["one two"])[0]
    assert result.text == "A: one two"
    assert result.cost == pytest.approx((2 * 0.5 + 3 * 1.5) / 1000)
    # ./models.yaml is found without --config (the fixture chdirs to tmp_path)
    assert "self-hosted" in load_models_config()


def test_models_yaml_errors_name_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  - name: x\n    spec: echo/a\n  - name: y\n    specs: echo/b\n")
    with pytest.raises(BadInputError, match=r"models\[1\].*spec"):
        load_models_config(path)
    path.write_text("models:\n  - name: x\n    spec: nope\n")
    with pytest.raises(BadInputError, match=r"models\[0\] \(x\): model spec 'nope'"):
        load_models_config(path)
    with pytest.raises(BadInputError, match="not found"):
        load_models_config(tmp_path / "missing.yaml")
    path.unlink()
    with pytest.raises(BadInputError, match="not a PROVIDER/MODEL spec nor a name"):
        get_model("unknown-name", store=False)


def test_unknown_provider_and_unknown_argument_are_user_errors() -> None:
    with pytest.raises(BadInputError, match="unknown model provider 'nope'"):
        get_model("nope/x", store=False)
    with pytest.raises(BadInputError, match="unknown model argument.*bogus.*accepted"):
        get_model("openai/x", ["bogus=1"], store=False)


def test_limit_arguments_go_to_the_runner() -> None:
    model = get_model("echo/x", ["max_concurrency=3", "rpm=60", "timeout=5", "max_retries=1"], store=False)
    assert model.limits.max_concurrency == 3
    assert model.limits.rpm == 60
    assert model.limits.timeout_s == 5
    assert model.limits.max_retries == 1


def test_register_provider_and_folder_provider(tiny_gpt2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Fixed(ModelAPI):
        provider = "fixed"

        @property
        def capabilities(self):  # type: ignore[no-untyped-def]
            from fmops.models import Capabilities

            return Capabilities(chat=False)

        def fingerprint_data(self):  # type: ignore[no-untyped-def]
            return {"model": self.model}

        async def generate(self, requests):  # type: ignore[no-untyped-def]
            from fmops.models import ModelResult

            return [ModelResult(text="fixed") for _ in requests]

    def zoo_folder(name: str) -> Path:
        if name != "tiny":
            raise BadInputError(f"zoo: no model {name!r}")
        return tiny_gpt2

    # Registrations made here stay here: the test works on a copy of the providers' entries.
    monkeypatch.setattr(PROVIDERS, "_entries", dict(PROVIDERS._entries))
    register_provider("fixed", lambda model, **args: Fixed(model))
    register_provider("zoo", local_folder_provider(zoo_folder))
    assert {"fixed", "zoo", "openai", "bedrock", "hf", "echo"} <= set(provider_names())
    assert get_model("fixed/a", store=False).generate_sync(["x"])[0].text == "fixed"
    zoo = get_model("zoo/tiny", ["batch_size=2"], store=False)
    assert zoo.api.provider == "hf" and zoo.capabilities.max_batch_size == 2
    hf = get_model(f"hf/{tiny_gpt2}", store=False)
    assert zoo.fingerprint == hf.fingerprint  # same folder, same stored results
    assert availability("zoo", "tiny", {}) is None
    assert "no model" in (availability("zoo", "other", {}) or "")
    # A named folder provider (as the zoo plugs in): its own provider name and prices, the hf machinery.
    named = local_folder_provider(
        zoo_folder,
        provider="named",
        prices=lambda name: Prices(input_per_1k=1.0, output_per_1k=2.0),
        unknown=lambda name: None if name == "tiny" else f"no named model {name}",
    )
    register_provider("named", named)
    model = get_model("named/tiny", store=False)
    assert model.api.provider == "named" and model.prices is not None and model.prices.output_per_1k == 2.0
    assert model.fingerprint != hf.fingerprint  # the provider is part of the fingerprint, as before the move
    assert availability("named", "other", {}) == "no named model other"


def test_availability_reasons(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert availability("openai", "gpt-4o-mini", {}) == "OPENAI_API_KEY is not set"
    assert availability("openai", "m", {"base_url": "http://127.0.0.1:1/v1"}) is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert availability("openai", "gpt-4o-mini", {}) is None
    assert "not a local folder" in (availability("hf", str(tmp_path / "none"), {}) or "")
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in (
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    assert "region" in (availability("bedrock", "m", {}) or "")
    assert "credentials" in (availability("bedrock", "m", {"region": "us-east-1"}) or "")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    assert availability("bedrock", "m", {"region": "us-east-1"}) is None


def test_entry_point_providers_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    import fmops.core.registry as core_registry
    from fmops.models import _registry

    ep = EntryPoint(name="plugin", value="fmops.models._providers.echo:EchoModel", group="fmops.providers")
    monkeypatch.setattr(
        core_registry, "entry_points", lambda group: [ep] if group == "fmops.providers" else []
    )
    monkeypatch.setattr(_registry, "PROVIDERS", Registry("model provider", "fmops.providers"))
    assert "plugin" in provider_names()
    assert get_model("plugin/x", store=False).generate_sync(["via entry point"])[0].text == "via entry point"


def test_the_zoo_plugs_in_through_the_entry_point_group() -> None:
    """models/ names no zoo: `zoo/...` comes from the installed `fmops.providers` entry point."""
    from importlib.metadata import entry_points

    from fmops.zoo._provider import zoo_provider

    assert [ep.value for ep in entry_points(group="fmops.providers") if ep.name == "zoo"] == [
        "fmops.zoo._provider:zoo_provider"
    ]
    assert PROVIDERS.get("zoo") is zoo_provider
    assert "no zoo model zoo/nope" in (availability("zoo", "nope", {}) or "")
