"""Model access: one async interface for every model, with a response store that makes runs resumable.

    from fmops.models import GenerateConfig, GenerateRequest, get_model

    model = get_model("openai/my-model", ["base_url=http://127.0.0.1:8000/v1"])
    results = await model.generate([GenerateRequest(prompt="Hi", config=GenerateConfig(max_tokens=32))])
    results[0].text, results.summary.errors

Providers: `openai` (any OpenAI-compatible server), `bedrock`, `hf` (local transformers, GGUF files and
packaged weights such as `hf/HuggingFaceTB/SmolLM2-135M-Instruct`), `echo` (deterministic, offline).
Add one with `register_provider` or the `fmops.providers` entry-point group.
"""

from fmops.models._api import ModelAPI
from fmops.models._gguf import GGUFConversion, gguf_model_folder, read_conversion
from fmops.models._limits import Limits
from fmops.models._model import BatchResult, BatchSummary, Model, ProgressFn, get_model
from fmops.models._packaged import (
    PACKAGED_WEIGHTS,
    PackagedWeights,
    ResolvedWeights,
    packaged_model_folder,
    packaged_unavailable,
    packaged_weights,
    resolve_packaged,
)
from fmops.models._registry import (
    ProviderFactory,
    availability,
    local_folder_provider,
    provider_names,
    register_provider,
)
from fmops.models._spec import (
    SPEC_RESOLVERS,
    ModelEntry,
    ModelSpec,
    Prices,
    load_models_config,
    models_config_path,
    parse_model_args,
    parse_model_spec,
    resolve_spec_reference,
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
    "PACKAGED_WEIGHTS",
    "SPEC_RESOLVERS",
    "BatchResult",
    "BatchSummary",
    "Capabilities",
    "CapabilityError",
    "ChatMessage",
    "GGUFConversion",
    "GenerateConfig",
    "GenerateRequest",
    "Limits",
    "Model",
    "ModelAPI",
    "ModelCallError",
    "ModelEntry",
    "ModelResult",
    "ModelSpec",
    "PackagedWeights",
    "Prices",
    "ProgressFn",
    "ProviderFactory",
    "ResolvedWeights",
    "ResponseStore",
    "SQLiteStore",
    "ScoreRequest",
    "StoreStats",
    "StoredEntry",
    "TokenSource",
    "availability",
    "get_model",
    "gguf_model_folder",
    "load_models_config",
    "local_folder_provider",
    "models_config_path",
    "open_store",
    "packaged_model_folder",
    "packaged_unavailable",
    "packaged_weights",
    "parse_model_args",
    "parse_model_spec",
    "provider_names",
    "read_conversion",
    "register_provider",
    "request_key",
    "resolve_packaged",
    "resolve_spec_reference",
]
