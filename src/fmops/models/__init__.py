"""Model access: one async interface for every model, with a response store that makes runs resumable.

    from fmops.models import GenerateConfig, GenerateRequest, get_model

    model = get_model("openai/my-model", ["base_url=http://127.0.0.1:8000/v1"])
    results = await model.generate([GenerateRequest(prompt="Hi", config=GenerateConfig(max_tokens=32))])
    results[0].text, results.summary.errors

Providers: `openai` (any OpenAI-compatible server), `bedrock`, `hf` (local transformers), `echo`
(deterministic, offline). Add one with `register_provider` or the `fmops.providers` entry-point group.
"""

from fmops.models._api import ModelAPI
from fmops.models._limits import Limits
from fmops.models._model import BatchResult, BatchSummary, Model, ProgressFn, get_model
from fmops.models._registry import (
    ProviderFactory,
    local_folder_provider,
    provider_names,
    register_provider,
)
from fmops.models._spec import (
    ModelEntry,
    ModelSpec,
    Prices,
    load_models_config,
    parse_model_args,
    parse_model_spec,
)
from fmops.models._store import ResponseStore, SQLiteStore, StoredEntry, StoreStats, open_store, request_key
from fmops.models._types import (
    Capabilities,
    CapabilityError,
    ChatMessage,
    GenerateConfig,
    GenerateRequest,
    ModelCallError,
    ModelResult,
    ScoreRequest,
    TokenSource,
)

__all__ = [
    "BatchResult",
    "BatchSummary",
    "Capabilities",
    "CapabilityError",
    "ChatMessage",
    "GenerateConfig",
    "GenerateRequest",
    "Limits",
    "Model",
    "ModelAPI",
    "ModelCallError",
    "ModelEntry",
    "ModelResult",
    "ModelSpec",
    "Prices",
    "ProgressFn",
    "ProviderFactory",
    "ResponseStore",
    "SQLiteStore",
    "ScoreRequest",
    "StoreStats",
    "StoredEntry",
    "TokenSource",
    "get_model",
    "load_models_config",
    "local_folder_provider",
    "open_store",
    "parse_model_args",
    "parse_model_spec",
    "provider_names",
    "register_provider",
    "request_key",
]
