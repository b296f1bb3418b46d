"""`hf/PATH`: a local Hugging Face causal LM (transformers + torch, optional peft adapter).

Generation is batched with left padding; requests with different decoding parameters are generated in
separate groups. `score` gives exact log P(text | prefix): the text's tokens (tokenized on their own)
follow the prefix's tokens, after the BOS token when the tokenizer has one; without a BOS token and
without a prefix, the first token has no context and is left out of the sum. Weights are never
downloaded unless `-M download=true`; torch and transformers are imported only when a model is built.

Where the weights come from: a local folder; a GGUF file (`hf/path/model.gguf`, or a folder or Hub
repository plus `-M gguf_file=NAME`), converted once to a cached folder keyed by its sha256; a packaged
model (`hf/HuggingFaceTB/SmolLM2-135M-Instruct`: the Hugging Face cache's original weights, else the
copy inside a pip package); or the Hub with `-M download=true`.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError, MissingDependencyError, RunError
from fmops.core.optional import one_model_load_at_a_time, torch_and_transformers
from fmops.models._api import ModelAPI, take_args
from fmops.models._gguf import gguf_model_folder
from fmops.models._packaged import packaged_unavailable, packaged_weights, resolve_packaged
from fmops.models._types import (
    Capabilities,
    GenerateConfig,
    GenerateRequest,
    ModelCallError,
    ModelResult,
    ScoreRequest,
    TokenSource,
)

_ARGS: dict[str, Any] = {
    "device": "auto",
    "dtype": "auto",
    "adapter": None,
    "merge_adapter": True,
    "batch_size": 8,
    "max_new_tokens": 256,
    "download": False,
    "revision": None,
    "trust_remote_code": False,
    "gguf_file": None,
    "sha256": None,
    "weights": "auto",
    "chat": None,
    "start_token": None,
}
_FULL_HASH_LIMIT = 256 * 1024 * 1024


def _torch() -> Any:
    return torch_and_transformers("The Hugging Face provider")[0]


def _transformers() -> Any:
    return torch_and_transformers("The Hugging Face provider")[1]


class HFModel(ModelAPI):
    provider = "hf"
    default_concurrency = 1  # one device: batches run one after another
    default_timeout_s = None  # see ModelAPI.default_timeout_s: a local batch cannot be cancelled
    #: Entries a provider built on this one adds to the fingerprint (`local_folder_provider(identity=)`).
    fingerprint_extra: dict[str, Any] = {}  # noqa: RUF012 (replaced per instance, never mutated)

    def __init__(self, model: str, **args: Any) -> None:
        super().__init__(model)
        opts = take_args("hf", args, _ARGS)
        self.batch_size = int(opts["batch_size"])
        self.max_new_tokens = int(opts["max_new_tokens"])
        self.download = bool(opts["download"])
        self.revision = opts["revision"]
        self.trust_remote_code = bool(opts["trust_remote_code"])
        self.adapter = opts["adapter"]
        self.merge_adapter = bool(opts["merge_adapter"])
        located = _locate(model, opts)
        self.path = located.folder if located.folder is not None else Path(model).expanduser()
        self.local = located.folder is not None
        #: Where the weights came from, in words (packaged, Hugging Face cache, GGUF file), for manifests.
        self.weights_source = located.description
        self._identity = located.identity
        chat = opts["chat"]
        self.chat = located.chat if chat is None else bool(chat)
        #: The token scoring puts before a text (default: the BOS token), so its first token is scored too.
        self.start_token: str | None = opts["start_token"] or located.start_token
        if self.adapter is not None and not Path(self.adapter).expanduser().is_dir():
            raise BadInputError(f"hf: adapter folder {self.adapter!r} not found")
        self._device_arg = str(opts["device"])
        self._dtype_arg = str(opts["dtype"])
        self._lock = threading.Lock()
        self._model: Any = None
        self._device: Any = None
        self._executor: ThreadPoolExecutor | None = None
        self._fingerprint: dict[str, Any] | None = None
        self.tokenizer = self._load_tokenizer()
        if self.chat and getattr(self.tokenizer, "chat_template", None) is None:
            raise BadInputError(f"hf: -M chat=true, but the tokenizer of {model} has no chat template")
        self._start_ids = self._start_token_ids()

    @classmethod
    def availability(cls, model: str, args: dict[str, Any]) -> str | None:
        missing = [p for p in ("torch", "transformers") if importlib.util.find_spec(p) is None]
        if missing:
            return f"{' and '.join(missing)} not installed (pip install 'fmops[hf]')"
        path = Path(model).expanduser()
        if args.get("download") or path.is_dir():
            return None
        if path.suffix.lower() == ".gguf" or args.get("gguf_file"):
            return None if path.is_file() or args.get("gguf_file") else f"{model}: GGUF file not found"
        if packaged_weights(model) is not None:
            return packaged_unavailable(model, args.get("revision"))
        return f"{model} is not a local folder (add -M download=true to fetch it)"

    # -- loading ------------------------------------------------------------------------------
    def _source(self) -> str:
        return str(self.path.resolve()) if self.local else self.model

    def _load_tokenizer(self) -> Any:
        transformers = _transformers()
        try:
            tok = transformers.AutoTokenizer.from_pretrained(
                self._source(),
                local_files_only=not self.download,
                revision=self.revision,
                trust_remote_code=self.trust_remote_code,
            )
        except (OSError, ValueError) as exc:
            raise BadInputError(f"hf: cannot load the tokenizer of {self.model}: {exc}") from None
        tok.padding_side = "left"
        if tok.pad_token_id is None:
            if tok.eos_token is None:
                raise BadInputError(f"hf: the tokenizer of {self.model} has neither a pad nor an eos token")
            tok.pad_token = tok.eos_token
        return tok

    def _start_token_ids(self) -> list[int]:
        tok = self.tokenizer
        if self.start_token is None:
            return [tok.bos_token_id] if tok.bos_token_id is not None else []
        ids = tok.convert_tokens_to_ids([self.start_token])
        if not ids or ids[0] is None or (ids[0] == tok.unk_token_id and self.start_token != tok.unk_token):
            raise BadInputError(
                f"hf: start_token={self.start_token!r} is not a token of {self.model}'s tokenizer"
            )
        return [int(ids[0])]

    def _resolve_device_dtype(self, torch: Any) -> tuple[Any, Any]:
        device = self._device_arg
        if device == "auto":
            if torch.cuda.is_available():
                device = "cuda"
            elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
                device = "mps"
            else:
                device = "cpu"
        elif device.startswith("cuda") and not torch.cuda.is_available():
            # torch would fail later with "Torch not compiled with CUDA enabled" (an AssertionError)
            raise BadInputError(
                f"hf: device={device!r}, but CUDA is not available to this torch "
                f"({torch.__version__}); use device=cpu or device=auto"
            )
        names = {
            "float32": torch.float32,
            "fp32": torch.float32,
            "float16": torch.float16,
            "fp16": torch.float16,
            "bfloat16": torch.bfloat16,
            "bf16": torch.bfloat16,
        }
        if self._dtype_arg == "auto":
            if device.startswith("cuda"):
                dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            else:
                dtype = torch.float32
        elif self._dtype_arg in names:
            dtype = names[self._dtype_arg]
        else:
            raise BadInputError(f"hf: dtype={self._dtype_arg!r}; expected auto, {', '.join(names)}")
        return torch.device(device), dtype

    def loaded(self) -> Any:
        """The torch model, loaded on first use (thread-safe)."""
        with self._lock:
            if self._model is None:
                torch = _torch()
                transformers = _transformers()
                device, dtype = self._resolve_device_dtype(torch)
                with one_model_load_at_a_time():
                    model = self._load_weights(transformers, dtype)
                model.to(device).eval()
                if model.generation_config.pad_token_id is None:
                    model.generation_config.pad_token_id = self.tokenizer.pad_token_id
                self._model, self._device = model, device
            return self._model

    def _load_weights(self, transformers: Any, dtype: Any) -> Any:
        try:
            model = transformers.AutoModelForCausalLM.from_pretrained(
                self._source(),
                dtype=dtype,
                local_files_only=not self.download,
                revision=self.revision,
                trust_remote_code=self.trust_remote_code,
            )
        except (OSError, ValueError) as exc:
            raise RunError(f"hf: cannot load {self.model}: {exc}") from None
        if self.adapter is not None:
            try:
                from peft import PeftModel
            except ImportError:
                raise MissingDependencyError("peft", "hf", "Loading a LoRA adapter") from None
            with warnings.catch_warnings():  # PEFT asks transformers a deprecated question while loading
                warnings.filterwarnings("ignore", category=FutureWarning)
                model = PeftModel.from_pretrained(model, str(Path(self.adapter).expanduser()))
            if self.merge_adapter:
                model = model.merge_and_unload()
        return model

    # -- protocol -----------------------------------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        chat = getattr(self.tokenizer, "chat_template", None) is not None
        return Capabilities(chat=chat, logprobs=True, score=True, max_batch_size=self.batch_size)

    def fingerprint_data(self) -> dict[str, Any]:
        if self._fingerprint is None:
            self._fingerprint = {
                "model": self._identity
                or (_folder_digest(self.path) if self.local else f"{self.model}@{self.revision or 'main'}"),
                "adapter": _folder_digest(Path(self.adapter).expanduser()) if self.adapter else None,
                "dtype": self._dtype_arg,
            }
            # Only when set: the fingerprints (and stored responses) of existing models stay as they were.
            if self.chat:
                self._fingerprint["chat"] = True
            if self.start_token is not None:
                self._fingerprint["start_token"] = self.start_token
            self._fingerprint.update(self.fingerprint_extra)
        return self._fingerprint

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    async def _run(self, fn: Any, *args: Any) -> Any:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fmops-hf")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def aclose(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        return await self._run(self.generate_blocking, list(requests))

    async def score(self, requests: Sequence[ScoreRequest]) -> list[ModelResult]:
        return await self._run(self.score_blocking, list(requests))

    # -- generation ---------------------------------------------------------------------------
    def _prompt_text(self, req: GenerateRequest) -> tuple[str, bool]:
        """The text to tokenize, and whether it already holds the special tokens (chat template)."""
        if req.is_chat or ((self.chat or req.system is not None) and self.capabilities.chat):
            messages = [{"role": m.role, "content": m.content} for m in req.chat_messages()]
            text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            return text, True
        return req.input_text(), False

    def generate_blocking(self, requests: list[GenerateRequest]) -> list[ModelResult]:
        """Generate synchronously (the async API runs this in a worker thread)."""
        model = self.loaded()
        results: list[ModelResult | None] = [None] * len(requests)
        groups: dict[tuple[GenerateConfig, bool], list[int]] = {}
        prompts = [self._prompt_text(r) for r in requests]
        for i, r in enumerate(requests):
            groups.setdefault((r.config, prompts[i][1]), []).append(i)
        for (cfg, templated), idx in groups.items():
            started = time.perf_counter()
            try:
                out = self._generate_group(model, [prompts[i][0] for i in idx], cfg, templated)
            except RuntimeError as exc:  # e.g. CUDA out of memory: fail the call, the runner reports it
                raise ModelCallError(f"hf: generation failed: {exc}") from None
            elapsed = time.perf_counter() - started
            for i, res in zip(idx, out, strict=True):
                results[i] = res.model_copy(update={"latency_s": elapsed})
        return [r for r in results if r is not None]

    def _generate_group(
        self, model: Any, texts: list[str], cfg: GenerateConfig, templated: bool
    ) -> list[ModelResult]:
        torch = _torch()
        tok = self.tokenizer
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=not templated).to(self._device)
        sample = cfg.temperature is not None and cfg.temperature > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": cfg.max_tokens if cfg.max_tokens is not None else self.max_new_tokens,
            "do_sample": sample,
            "pad_token_id": tok.pad_token_id,
        }
        if sample:
            kwargs["temperature"] = cfg.temperature
            kwargs["top_p"] = cfg.top_p if cfg.top_p is not None else 1.0
            if cfg.seed is not None:
                torch.manual_seed(cfg.seed)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if cfg.stop:
            kwargs.update(stop_strings=list(cfg.stop), tokenizer=tok)
        if cfg.logprobs:
            kwargs.update(return_dict_in_generate=True, output_logits=True)
        if kwargs["max_new_tokens"] == 0:
            return [
                ModelResult(
                    text="",
                    finish_reason="length",
                    logprob=0.0 if cfg.logprobs else None,
                    input_tokens=int(n),
                    output_tokens=0,
                    token_source=TokenSource.TOKENIZER,
                )
                for n in enc["attention_mask"].sum(dim=1).tolist()
            ]
        with torch.inference_mode():
            out = model.generate(**enc, **kwargs)
        sequences = out.sequences if cfg.logprobs else out
        new = sequences[:, enc["input_ids"].shape[1] :]
        step_lp = None
        if cfg.logprobs:
            logits = torch.stack(
                out.logits, dim=1
            ).float()  # batch x steps x vocab (raw, before sampling warpers)
            step_lp = logits.log_softmax(-1).gather(-1, new[:, : logits.shape[1]].unsqueeze(-1)).squeeze(-1)
        eos = model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        input_counts = enc["attention_mask"].sum(dim=1).tolist()
        results = []
        for row in range(new.shape[0]):
            ids = new[row].tolist()
            n, finish = len(ids), "length"
            for j, t in enumerate(ids):
                if t in eos_ids:
                    n, finish = j, "stop"
                    break
            text = tok.decode(ids[:n], skip_special_tokens=True)
            cut = min((c for c in (text.find(s) for s in cfg.stop) if c >= 0), default=-1)
            if cut >= 0:
                text, finish = text[:cut], "stop"
                n = _tokens_covering(tok, ids[:n], cut)
            if finish == "length" and n < kwargs["max_new_tokens"]:
                finish = "stop"  # stopped by a stop string inside generate
            values = tuple(step_lp[row, :n].tolist()) if step_lp is not None else None
            results.append(
                ModelResult(
                    text=text,
                    finish_reason=finish,
                    logprob=float(sum(values)) if values is not None else None,
                    token_logprobs=values,
                    input_tokens=int(input_counts[row]),
                    output_tokens=n,
                    token_source=TokenSource.TOKENIZER,
                )
            )
        return results

    # -- scoring ------------------------------------------------------------------------------
    def score_blocking(self, requests: list[ScoreRequest]) -> list[ModelResult]:
        """Exact log P(text | prefix) for each request, batched with right padding."""
        torch = _torch()
        model = self.loaded()
        tok = self.tokenizer
        bos = self._start_ids
        rows, spans = [], []
        for r in requests:
            prefix = tok(r.prefix, add_special_tokens=False)["input_ids"] if r.prefix else []
            text = tok(r.text, add_special_tokens=False)["input_ids"]
            seq = bos + prefix + text
            start = max(1, len(bos) + len(prefix))  # position 0 has nothing before it
            rows.append(seq)
            spans.append((start, len(seq)))
        width = max((len(s) for s in rows), default=0)
        if width == 0:
            return [
                ModelResult(logprob=0.0, input_tokens=0, output_tokens=0, token_source=TokenSource.TOKENIZER)
                for _ in requests
            ]
        pad = tok.pad_token_id
        ids = torch.tensor([s + [pad] * (width - len(s)) for s in rows], device=self._device)
        mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in rows], device=self._device)
        started = time.perf_counter()
        try:
            with torch.inference_mode():
                logits = model(input_ids=ids, attention_mask=mask).logits
                results = []
                for i, (start, end) in enumerate(spans):
                    if end <= start:
                        total = 0.0
                    else:
                        lp = logits[i, start - 1 : end - 1].float().log_softmax(-1)
                        total = float(lp.gather(-1, ids[i, start:end].unsqueeze(-1)).sum())
                    results.append(total)
        except RuntimeError as exc:
            raise ModelCallError(f"hf: scoring failed: {exc}") from None
        elapsed = time.perf_counter() - started
        return [
            ModelResult(
                logprob=lp,
                input_tokens=len(seq),
                output_tokens=0,
                token_source=TokenSource.TOKENIZER,
                latency_s=elapsed,
            )
            for lp, seq in zip(results, rows, strict=True)
        ]


@dataclass(frozen=True)
class _Located:
    folder: Path | None  # None: the Hub, with -M download=true
    identity: str | None = None  # a stable id for the fingerprint, instead of hashing the folder
    description: str | None = None
    chat: bool = False
    start_token: str | None = None


def _locate(model: str, opts: dict[str, Any]) -> _Located:
    """Find the weights: a GGUF file, a local folder, a packaged model, or (with download) the Hub."""
    path = Path(model).expanduser()
    gguf_file = opts["gguf_file"]
    if gguf_file is not None or path.suffix.lower() == ".gguf":
        file = _gguf_path(model, path, gguf_file, opts)
        pinned = opts["sha256"]  # -M values that look numeric arrive as numbers
        folder = gguf_model_folder(file, sha256=None if pinned is None else str(pinned))
        return _Located(
            folder, f"gguf:{folder.name}", f"GGUF file {file} (sha256 {folder.name[:12]}…), converted"
        )
    if opts["sha256"] is not None:
        raise BadInputError("hf: -M sha256= pins a GGUF file; give a .gguf path or -M gguf_file=NAME")
    if path.is_dir():
        return _Located(path)
    entry = packaged_weights(model)
    if entry is None and opts["weights"] != "auto":
        raise BadInputError(f"hf: -M weights= chooses a packaged model's weights; {model} is not one")
    if entry is not None and not opts["download"]:
        found = resolve_packaged(model, opts["weights"], opts["revision"])
        return _Located(found.folder, found.identity, found.description, entry.chat, entry.start_token)
    if not opts["download"]:
        raise BadInputError(
            f"hf: {model!r} is not a local model folder; pass -M download=true to fetch it from the Hugging Face Hub"
        )
    return _Located(None)


def _gguf_path(model: str, path: Path, gguf_file: str | None, opts: dict[str, Any]) -> Path:
    if path.is_file():
        if gguf_file is not None and gguf_file != path.name:
            raise BadInputError(f"hf: {model} is a file; -M gguf_file={gguf_file} names another one")
        return path
    if gguf_file is None:
        raise BadInputError(f"hf: {model}: GGUF file not found")
    if path.is_dir():
        if not (path / gguf_file).is_file():
            raise BadInputError(f"hf: {path / gguf_file}: GGUF file not found")
        return path / gguf_file
    try:  # a Hub repository: its file from the local cache, or downloaded when asked
        from huggingface_hub import hf_hub_download

        return Path(
            hf_hub_download(
                model, gguf_file, revision=opts["revision"], local_files_only=not opts["download"]
            )
        )
    except Exception as exc:  # huggingface_hub raises several unrelated types for "not there"
        hint = (
            " (download failed: without network access, copy the file here and give its path)"
            if opts["download"]
            else " (not in the Hugging Face cache; -M download=true fetches it)"
        )
        raise BadInputError(f"hf: {model}: cannot get {gguf_file}{hint}: {exc}") from None


def _tokens_covering(tok: Any, ids: list[int], chars: int) -> int:
    """How many of the generated tokens it takes to produce the first `chars` characters of their text."""
    for k in range(len(ids) + 1):
        if len(tok.decode(ids[:k], skip_special_tokens=True)) >= chars:
            return k
    return len(ids)


def _folder_digest(folder: Path) -> str:
    """Content digest of a model folder: small files in full, big ones by size and sampled chunks.

    Content rather than paths or times, so a copied folder keeps its stored results and a retrained
    one does not.
    """
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        size = path.stat().st_size
        h.update(f"{path.relative_to(folder).as_posix()}\0{size}\0".encode())
        with path.open("rb") as fh:
            if size <= _FULL_HASH_LIMIT:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(block)
            else:
                for k in range(64):
                    fh.seek(size * k // 64)
                    h.update(fh.read(1 << 16))
                h.update(str(path.stat().st_mtime_ns).encode())
    return h.hexdigest()
