"""Toxicity detectors behind one interface: fmeval's two (detoxify, toxigen) and an offline default.

Every detector is loaded once per process (`get_toxicity_detector` caches it), scores texts in batches and
says what it is (`info`, for the run manifest). Nothing is downloaded: a missing weight file is a RunError
that says where to put it, never a silent switch to another detector.

`profanity_check` (the default, `DEFAULT`): the linear model (TF-IDF + calibrated linear SVM, sklearn) that
the PyPI package `alt-profanity-check` ships. One score, `profanity`: the probability that the text is
offensive. It is not detoxify and does not pretend to be: its score names differ. Tens of thousands
of texts/s on one core. Measured (alt-profanity-check 1.9.1):

* catches swearing and direct insults: "shut the fuck up" 1.00, "you stupid bitch" 1.00, "You are an
  idiot." 1.00, "This is bullshit." 1.00, "what a dumbass" 1.00, "f*ck you" 0.99; and some threats and
  hostility: "I will kill you." 0.95, "I hope you die." 0.86, "I hate you" 0.91.
* misses hate speech without swear words: "Black people are inferior." 0.16, "Go back to your country."
  0.14, "All Muslims are terrorists." 0.43; and obfuscation: "fuuuuck" 0.04, "You are a piece of sh1t" 0.44.
* false positives on identity terms and mild words, a known bias of bag-of-words models: "He is gay."
  0.98, "sex" 0.92, "That movie was damn good." 0.31; benign text scores low: "Thank you for your help."
  0.00, "You are a wonderful person." 0.03, "The assassin killed the president." 0.09.

(`hatesonar` was evaluated and rejected: its 2025 release pulls onnxruntime and skl2onnx and fails to load
unless the en_US.UTF-8 locale is installed; its older releases need a scikit-learn from 2018.)

`detoxify` (fmeval's default, reference §1.9): Unitary's "unbiased" checkpoint `toxic_debiased-c7548aa0.ckpt`
(a torch-saved dict: "config" = the training config whose arch.args name the model class, tokenizer class,
base model "roberta-base" and 16 heads; "state_dict" = the classifier's weights). Scores: sigmoid of the
first 7 heads; tokenizer(truncation, padding), batches of 64. Where the files go:

* the checkpoint: `model_path` (the file, or a folder holding it), else `$FMOPS_DETOXIFY_CHECKPOINT`, else
  `FMOPS_HOME/models/detoxify/toxic_debiased-c7548aa0.ckpt`, else torch hub's cache
  (`$TORCH_HOME/hub/checkpoints/`, where fmeval and the detoxify package download it);
* roberta-base's config.json and tokenizer files (vocab.json + merges.txt, or tokenizer.json; no weights
  needed): a folder named `roberta-base` beside the checkpoint, else `FMOPS_HOME/models/detoxify/roberta-base/`,
  else the Hugging Face cache (`roberta-base` or `FacebookAI/roberta-base`).

`toxigen` (reference §1.9): `tomh/toxigen_roberta` with text-classification pipeline semantics (softmax,
top label; score = p if the label is LABEL_1 else 1 − p), score name `toxicity`. The model folder:
`model_path`, else `FMOPS_HOME/models/toxigen/`, else the Hugging Face cache. Unlike fmeval's pipeline,
texts are truncated at the model's maximum length (fmeval fails on longer texts).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from fmops.core.errors import BadInputError, RunError
from fmops.core.optional import one_model_load_at_a_time
from fmops.core.registry import Registry
from fmops.core.settings import fmops_home
from fmops.metrics.bertscore import find_cached_hf_model, is_model_folder

PROFANITY_CHECK = "profanity_check"
DETOXIFY = "detoxify"
TOXIGEN = "toxigen"
DEFAULT = PROFANITY_CHECK
TOXICITY_DETECTORS = (PROFANITY_CHECK, DETOXIFY, TOXIGEN)

PROFANITY_SCORE_NAMES = ("profanity",)
DETOXIFY_SCORE_NAMES = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "identity_attack",
    "insult",
    "threat",
    "sexual_explicit",
)
TOXIGEN_SCORE_NAMES = ("toxicity",)

DETOXIFY_CHECKPOINT_NAME = "toxic_debiased-c7548aa0.ckpt"
DETOXIFY_CHECKPOINT_URL = (
    "https://github.com/unitaryai/detoxify/releases/download/v0.3-alpha/toxic_debiased-c7548aa0.ckpt"
)
TOXIGEN_MODEL = "tomh/toxigen_roberta"
BATCH_SIZE = 64

_HUB_ALIASES = {"roberta-base": ("roberta-base", "FacebookAI/roberta-base")}
_HASH_SUFFIX = re.compile(r"-([0-9a-f]{8,64})\.[A-Za-z0-9]+$")


@runtime_checkable
class ToxicityDetector(Protocol):
    """What the toxicity algorithms need: score names, per-text scores, and a description for the manifest."""

    score_names: tuple[str, ...]

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]: ...

    @property
    def info(self) -> dict[str, Any]: ...


def _check_texts(texts: Sequence[str]) -> None:
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"toxicity detectors score strings; text #{i} is {type(text).__name__}")


def _imports(purpose: str) -> tuple[Any, Any]:
    from fmops.core.optional import torch_and_transformers

    return torch_and_transformers(purpose)


def _max_length(tokenizer: Any, config: Any) -> int:
    """The tokenizer's limit, or the model's when the tokenizer folder does not say (avoids index errors)."""
    limit = tokenizer.model_max_length
    if isinstance(limit, int) and limit <= 100_000:
        return limit
    positions = getattr(config, "max_position_embeddings", 512)
    return positions - 2 if config.model_type in ("roberta", "xlm-roberta", "camembert") else positions


def _length_batches(texts: Sequence[str], size: int) -> list[list[int]]:
    """Indices of `texts` in batches of `size`, sorted by length to limit padding (cheap: characters)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[i : i + size] for i in range(0, len(order), size)]


class ProfanityCheckDetector:
    """The offline default: alt-profanity-check's shipped linear model (see the module docstring)."""

    score_names = PROFANITY_SCORE_NAMES

    def __init__(self) -> None:
        try:
            from profanity_check import predict_prob
        except ImportError:
            raise RunError(
                "The offline toxicity detector needs the Python package 'alt-profanity-check' (a dependency "
                "of fmops): install it with `pip install alt-profanity-check`"
            ) from None
        except Exception as exc:  # its pickled model is tied to the scikit-learn version it pins
            raise RunError(
                f"alt-profanity-check could not load its model ({type(exc).__name__}: {exc}); reinstall it "
                "with the scikit-learn version it requires"
            ) from exc
        self._predict_prob: Callable[[list[str]], Any] = predict_prob
        from importlib.metadata import PackageNotFoundError, version

        try:
            self._version = version("alt-profanity-check")
        except PackageNotFoundError:  # pragma: no cover - vendored copies
            self._version = "unknown"

    @property
    def info(self) -> dict[str, Any]:
        return {
            "detector": PROFANITY_CHECK,
            "model": f"alt-profanity-check {self._version}",
            "source": "alt-profanity-check package",
            "score_names": list(self.score_names),
        }

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        _check_texts(texts)
        if not texts:
            return []
        return [{"profanity": float(p)} for p in self._predict_prob(list(texts))]


class _ClassifierDetector:
    """A transformers sequence classifier scored in length-sorted batches; a subclass loads it (setting
    `_tokenizer`, `_model`, `_max_length`, `_info`) and turns a batch's logits into score dicts."""

    score_names: tuple[str, ...]
    _tokenizer: Any
    _model: Any
    _max_length: int
    _info: dict[str, Any]
    _lock = threading.Lock()  # one forward pass at a time per process: torch uses every core already

    @property
    def info(self) -> dict[str, Any]:
        return dict(self._info)

    def _scores(self, logits: Any) -> list[dict[str, float]]:
        raise NotImplementedError

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        import torch

        _check_texts(texts)
        if not texts:
            return []
        out: list[dict[str, float]] = [{} for _ in texts]
        with self._lock, torch.inference_mode():
            for batch in _length_batches(texts, BATCH_SIZE):
                inputs = self._tokenizer(
                    [texts[i] for i in batch],
                    return_tensors="pt",
                    truncation=True,
                    max_length=self._max_length,
                    padding=True,
                )
                for i, row in zip(batch, self._scores(self._model(**inputs)[0]), strict=True):
                    out[i] = row
        return out


class DetoxifyDetector(_ClassifierDetector):
    """fmeval's `detoxify`: the unbiased checkpoint on roberta-base, sigmoid over the first 7 heads."""

    score_names = DETOXIFY_SCORE_NAMES

    def __init__(self, checkpoint: Path, source: str) -> None:
        torch, transformers = _imports("The detoxify toxicity detector")
        _verify_hash(checkpoint)
        try:
            saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
        except Exception as exc:  # unpickling errors come in many types
            raise RunError(
                f"Cannot read the detoxify checkpoint {checkpoint} (fmops loads it with weights_only=True): {exc}"
            ) from exc
        try:
            args = saved["config"]["arch"]["args"]
            base, model_name = str(args["model_type"]), str(args["model_name"])
            tokenizer_name, num_classes = str(args["tokenizer_name"]), int(args["num_classes"])
            state = saved["state_dict"]
        except (KeyError, TypeError, ValueError):
            raise RunError(
                f"{checkpoint} is not a Detoxify checkpoint: expected a dict with config.arch.args "
                "(model_type, model_name, tokenizer_name, num_classes) and state_dict"
            ) from None
        if num_classes < len(DETOXIFY_SCORE_NAMES):
            raise RunError(
                f"{checkpoint} has {num_classes} heads; detoxify's unbiased model needs at least 7"
            )
        model_class = getattr(transformers, model_name, None)
        if model_class is None or not model_name.endswith("ForSequenceClassification"):
            raise RunError(f"{checkpoint} names an unsupported model class '{model_name}'")
        base_dir = _detoxify_base_folder(base, checkpoint)
        try:
            config = transformers.AutoConfig.from_pretrained(
                base_dir, num_labels=num_classes, local_files_only=True
            )
            tokenizer_class = getattr(transformers, tokenizer_name, transformers.AutoTokenizer)
            self._tokenizer = tokenizer_class.from_pretrained(base_dir, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise RunError(f"Cannot load {base}'s config and tokenizer from {base_dir}: {exc}") from exc
        with one_model_load_at_a_time():
            model = model_class(config)
        try:
            result = model.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # shape mismatches: a checkpoint of another size
            raise RunError(f"The detoxify checkpoint {checkpoint} does not fit {base_dir}: {exc}") from exc
        unexpected = [k for k in result.unexpected_keys if not k.endswith("position_ids")]
        if result.missing_keys or unexpected:
            raise RunError(
                f"The detoxify checkpoint {checkpoint} does not match {model_name} on {base_dir}: "
                f"missing {result.missing_keys[:5]}, unexpected {unexpected[:5]}"
            )
        self._model = model.eval()
        self._max_length = _max_length(self._tokenizer, config)
        self._info = {
            "detector": DETOXIFY,
            "model": f"detoxify unbiased ({checkpoint.name})",
            "checkpoint": str(checkpoint),
            "base_model": str(base_dir),
            "source": source,
            "score_names": list(self.score_names),
        }

    def _scores(self, logits: Any) -> list[dict[str, float]]:
        import torch

        heads = len(DETOXIFY_SCORE_NAMES)
        return [
            dict(zip(DETOXIFY_SCORE_NAMES, row[:heads], strict=True))
            for row in torch.sigmoid(logits).tolist()
        ]


class ToxigenDetector(_ClassifierDetector):
    """fmeval's `toxigen`: tomh/toxigen_roberta with text-classification pipeline semantics."""

    score_names = TOXIGEN_SCORE_NAMES

    def __init__(self, folder: Path, source: str) -> None:
        _torch, transformers = _imports("The toxigen toxicity detector")
        try:
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
            with one_model_load_at_a_time():
                model = transformers.AutoModelForSequenceClassification.from_pretrained(
                    folder, local_files_only=True
                )
        except (OSError, ValueError) as exc:
            raise RunError(f"Cannot load the toxigen model from {folder}: {exc}") from exc
        self._model = model.eval()
        config = model.config
        self._labels = [config.id2label[i] for i in range(config.num_labels)]
        # The pipeline's default function: sigmoid for one label or multi-label, else softmax.
        self._sigmoid = config.problem_type == "multi_label_classification" or config.num_labels == 1
        self._max_length = _max_length(self._tokenizer, config)
        self._info = {
            "detector": TOXIGEN,
            "model": TOXIGEN_MODEL,
            "path": str(folder),
            "source": source,
            "score_names": list(self.score_names),
        }

    def _scores(self, logits: Any) -> list[dict[str, float]]:
        import numpy as np

        values = logits.float().numpy()
        if self._sigmoid:
            probs = 1.0 / (1.0 + np.exp(-values))
        else:
            shifted = np.exp(values - values.max(axis=-1, keepdims=True))
            probs = shifted / shifted.sum(axis=-1, keepdims=True)
        out = []
        for row in probs:
            top = int(np.argmax(row))
            p = float(row[top])
            out.append({"toxicity": p if self._labels[top] == "LABEL_1" else 1.0 - p})
        return out


# ---- where the weights are ---------------------------------------------------------------------------


def _torch_hub_checkpoints() -> Path:
    """torch.hub's download folder (torch hub's `get_dir()/checkpoints`), computed without importing torch."""
    torch_home = os.environ.get("TORCH_HOME") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "torch"
    )
    return Path(torch_home) / "hub" / "checkpoints"


def _checkpoint_in(path: Path, what: str) -> Path:
    """A checkpoint file given as itself or as a folder that holds it."""
    if path.is_file():
        return path
    if path.is_dir():
        named = path / DETOXIFY_CHECKPOINT_NAME
        if named.is_file():
            return named
        found = sorted(path.glob("*.ckpt"))
        if len(found) == 1:
            return found[0]
        raise RunError(
            f"{what} {path} is a folder without {DETOXIFY_CHECKPOINT_NAME}"
            + (f" (and {len(found)} other .ckpt files: name one)" if found else "")
        )
    raise RunError(f"{what} {path} does not exist: {_detoxify_hint()}")


def _detoxify_hint() -> str:
    return (
        f"download {DETOXIFY_CHECKPOINT_URL} on a machine with network access and put it at "
        f"{fmops_home() / 'models' / 'detoxify' / DETOXIFY_CHECKPOINT_NAME} (or pass its path as model_path, "
        f"or set FMOPS_DETOXIFY_CHECKPOINT); detoxify also needs roberta-base's config.json and tokenizer "
        f"files (vocab.json, merges.txt) in {fmops_home() / 'models' / 'detoxify' / 'roberta-base'}/"
    )


def resolve_detoxify_checkpoint(model_path: str | None = None) -> tuple[Path, str]:
    """The detoxify checkpoint file and where it was found; RunError (saying where to put it) if absent."""
    if model_path:
        return _checkpoint_in(Path(model_path).expanduser(), "The detoxify checkpoint"), "model_path"
    env = os.environ.get("FMOPS_DETOXIFY_CHECKPOINT")
    if env:
        return _checkpoint_in(
            Path(env).expanduser(), "FMOPS_DETOXIFY_CHECKPOINT="
        ), "FMOPS_DETOXIFY_CHECKPOINT"
    home = fmops_home() / "models" / "detoxify" / DETOXIFY_CHECKPOINT_NAME
    if home.is_file():
        return home, "fmops-home"
    hub = _torch_hub_checkpoints() / DETOXIFY_CHECKPOINT_NAME
    if hub.is_file():
        return hub, "torch-hub-cache"
    raise RunError(f"The detoxify toxicity model is not available offline: {_detoxify_hint()}")


def _is_tokenizer_folder(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (
        (folder / "tokenizer.json").is_file()
        or ((folder / "vocab.json").is_file() and (folder / "merges.txt").is_file())
    )


def _detoxify_base_folder(base: str, checkpoint: Path) -> Path:
    """roberta-base's config and tokenizer: beside the checkpoint, under FMOPS_HOME, or in the HF cache."""
    candidates = [checkpoint.parent / base, fmops_home() / "models" / "detoxify" / base]
    for folder in candidates:
        if _is_tokenizer_folder(folder):
            return folder
    cached = find_cached_hf_model(_HUB_ALIASES.get(base, (base,)), check=_is_tokenizer_folder)
    if cached is not None:
        return cached
    raise RunError(
        f"The detoxify checkpoint needs {base}'s config.json and tokenizer files (vocab.json and merges.txt, or "
        f"tokenizer.json; no weights): put them in {candidates[1]}/ or {candidates[0]}/, or have '{base}' in the "
        f"Hugging Face cache"
    )


def _verify_hash(checkpoint: Path) -> None:
    """torch.hub's convention: a `-<sha256 prefix>` file-name suffix must match the file (catches partial copies)."""
    match = _HASH_SUFFIX.search(checkpoint.name)
    if not match:
        return
    digest = hashlib.sha256()
    with checkpoint.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if not digest.hexdigest().startswith(match.group(1)):
        raise RunError(
            f"{checkpoint} is damaged or not the expected file: its sha256 does not start with {match.group(1)} "
            f"as its name says; download it again from {DETOXIFY_CHECKPOINT_URL}"
        )


def resolve_toxigen_folder(model_path: str | None = None) -> tuple[Path, str]:
    """The toxigen model folder and where it was found; RunError (saying where to put it) if absent."""
    if model_path:
        folder = Path(model_path).expanduser()
        if not is_model_folder(folder):
            raise RunError(f"The toxigen model folder {folder} has no config.json and weights file")
        return folder, "model_path"
    home = fmops_home() / "models" / "toxigen"
    if is_model_folder(home):
        return home, "fmops-home"
    cached = find_cached_hf_model((TOXIGEN_MODEL,))
    if cached is not None:
        return cached, "hf-cache"
    raise RunError(
        f"The toxigen toxicity model ({TOXIGEN_MODEL}) is not available offline: put a copy of its Hugging Face "
        f"folder (config.json, weights, tokenizer files) in {home}/, or pass its folder as model_path, or "
        f"download it into the Hugging Face cache on a machine with network access (`hf download {TOXIGEN_MODEL}`)"
    )


#: How a detector is located: model_path -> (what identifies its weights, a loader). Called before loading,
#: so a missing checkpoint is reported at once; the loader runs once per process and weights.
DetectorLocator = Callable[[str | None], tuple[tuple[str, str], Callable[[], ToxicityDetector]]]


def _profanity_check(model_path: str | None) -> tuple[tuple[str, str], Callable[[], ToxicityDetector]]:
    if model_path:
        raise BadInputError("The profanity_check detector ships its own model: model_path does not apply")
    return ("", ""), ProfanityCheckDetector


def _detoxify(model_path: str | None) -> tuple[tuple[str, str], Callable[[], ToxicityDetector]]:
    checkpoint, source = resolve_detoxify_checkpoint(model_path)
    return (str(checkpoint.resolve()), source), lambda: DetoxifyDetector(checkpoint, source)


def _toxigen(model_path: str | None) -> tuple[tuple[str, str], Callable[[], ToxicityDetector]]:
    folder, source = resolve_toxigen_folder(model_path)
    return (str(folder.resolve()), source), lambda: ToxigenDetector(folder, source)


#: Toxicity detectors by `model_type` (the one registry mechanism); plug-ins through the
#: `fmops.toxicity_detectors` entry points, each a DetectorLocator.
DETECTOR_REGISTRY: Registry[DetectorLocator] = Registry("toxicity detector", "fmops.toxicity_detectors")
DETECTOR_REGISTRY.register(PROFANITY_CHECK, _profanity_check)
DETECTOR_REGISTRY.register(DETOXIFY, _detoxify)
DETECTOR_REGISTRY.register(TOXIGEN, _toxigen)

_DETECTORS: dict[tuple[str, str, str], ToxicityDetector] = {}
_LOAD_LOCK = threading.Lock()


def get_toxicity_detector(model_type: str = DEFAULT, *, model_path: str | None = None) -> ToxicityDetector:
    """The process-wide detector `model_type` (one of TOXICITY_DETECTORS), loaded on first use."""
    if model_type not in DETECTOR_REGISTRY:
        raise BadInputError(
            f"Unknown toxicity model_type '{model_type}': choose one of {', '.join(DETECTOR_REGISTRY.names())}"
        )
    (weights, source), factory = DETECTOR_REGISTRY.get(model_type)(model_path)
    key = (model_type, weights, source)
    detector = _DETECTORS.get(key)
    if detector is None:
        with _LOAD_LOCK:
            detector = _DETECTORS.get(key)
            if detector is None:
                detector = _DETECTORS[key] = factory()
    return detector
