"""Train one zoo model into a folder: byte-level BPE, GPT-2 from scratch, a measured decoding speed.

Deterministic for a (spec, seed, version): the world and corpus are fixed (WORLD_SEED), the seed drives
initialisation and batch order through seeded generators, and torch runs with a fixed thread count and
deterministic algorithms. The budget is a number of optimizer steps, so a busy machine trains slower,
never differently (checked: identical weights from an idle and a heavily loaded machine).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import fmops
from fmops.core.errors import MissingDependencyError
from fmops.core.optional import one_model_load_at_a_time, torch_and_transformers
from fmops.data.world import QA_TEMPLATE, WORLD_SEED, training_pairs
from fmops.zoo import _registry
from fmops.zoo._registry import META_FILE, ZooSpec

EOS = "<|endoftext|>"
PAD = "<|pad|>"
#: Zoo models are completion models trained on plain text, so a chat is read as its messages' contents,
#: one per line, with no role markers: a single user message is exactly the completion prompt.
CHAT_TEMPLATE = "{% for m in messages %}{% if not loop.first %}\n{% endif %}{{ m['content'] }}{% endfor %}"
#: Threads used for training and for the speed measurement: fixed so that results and figures reproduce.
TRAIN_THREADS = 2
#: Loss weight of completion tokens (answers, summaries, labels, and the end-of-text that stops them)
#: against prompt tokens: the evaluated part gets the attention a small model can spare.
COMPLETION_WEIGHT = 2.0

Progress = Callable[[int, int], None]


def require_hf(purpose: str) -> None:
    """Fail with an install hint when the `hf` extra is missing."""
    torch_and_transformers(purpose)  # also switches transformers' own progress bars off
    try:
        import tokenizers  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("tokenizers", "hf", purpose) from exc


def train_tokenizer(docs: Sequence[str], vocab_size: int, context_window: int) -> Any:
    """A GPT-2-style byte-level BPE trained on the corpus, wrapped so AutoTokenizer can load it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(docs), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=EOS,
        eos_token=EOS,
        unk_token=EOS,
        pad_token=PAD,
        model_max_length=context_window,
        chat_template=CHAT_TEMPLATE,
    )


def _batches(lengths: list[int], batch_size: int, steps: int, generator: Any) -> list[list[int]]:
    """`steps` batches of document indices: epoch after epoch, each shuffled, with length bucketing.

    Bucketing (sort within windows of 16 batches) keeps padding low without losing randomness.
    """
    import torch

    out: list[list[int]] = []
    while len(out) < steps:
        order = torch.randperm(len(lengths), generator=generator).tolist()
        window = batch_size * 16
        epoch: list[list[int]] = []
        for start in range(0, len(order), window):
            chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
            epoch += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
        out += [epoch[i] for i in torch.randperm(len(epoch), generator=generator).tolist()]
    return out[:steps]


def _lr_factor(step: int, steps: int) -> float:
    """Linear warm-up over 5% of the steps, then cosine decay to 10% of the peak."""
    warmup = max(1, steps // 20)
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


class _TorchState:
    """Fix threads, determinism, RNG and log level for a training run, then give the caller theirs back."""

    def __init__(self, seed: int) -> None:
        self._seed = seed

    def __enter__(self) -> _TorchState:
        import torch
        from transformers.utils import logging as hf_logging

        self._threads = torch.get_num_threads()
        self._deterministic = torch.are_deterministic_algorithms_enabled()
        self._verbosity = hf_logging.get_verbosity()
        self._rng = torch.random.fork_rng(devices=[])
        self._rng.__enter__()
        torch.manual_seed(self._seed)
        torch.set_num_threads(TRAIN_THREADS)
        torch.use_deterministic_algorithms(True)
        hf_logging.set_verbosity_error()
        return self

    def __exit__(self, *exc: object) -> None:
        import torch
        from transformers.utils import logging as hf_logging

        torch.set_num_threads(self._threads)
        torch.use_deterministic_algorithms(self._deterministic)
        hf_logging.set_verbosity(self._verbosity)
        self._rng.__exit__(None, None, None)


def train_into(
    spec: ZooSpec, out_dir: Path, *, seed: int = 0, progress: Progress | None = None
) -> dict[str, Any]:
    """Train `spec` with `seed` and save a Hugging Face folder plus zoo.json into `out_dir`."""
    require_hf("Training a zoo model")
    import torch
    from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel

    started = time.perf_counter()
    pairs = training_pairs(WORLD_SEED, new_domain=spec.new_domain)
    with _TorchState(seed):
        # One vocabulary for the whole world (new domain included): a tokenizer is not knowledge, and a
        # base model must be able to spell what a fine-tune will teach it.
        world_text = [p + c for p, c in training_pairs(WORLD_SEED, new_domain=True)]
        tokenizer = train_tokenizer(world_text, spec.vocab_size, spec.context_window)
        eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
        encoded, weights = _encode(tokenizer, pairs, spec.context_window)
        config = GPT2Config(
            vocab_size=spec.vocab_size,
            n_positions=spec.context_window,
            n_embd=spec.n_embd,
            n_layer=spec.n_layer,
            n_head=spec.n_head,
            n_inner=4 * spec.n_embd,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            bos_token_id=eos,
            eos_token_id=eos,
            pad_token_id=pad,
            tie_word_embeddings=True,
        )
        with one_model_load_at_a_time():
            model = GPT2LMHeadModel(config)
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=spec.learning_rate, betas=(0.9, 0.98), weight_decay=0.01
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, spec.steps))
        generator = torch.Generator().manual_seed(seed)
        batches = _batches([len(e) for e in encoded], spec.batch_size, spec.steps, generator)
        losses: list[float] = []
        tokens_seen = 0
        model.train()
        for step, batch in enumerate(batches):
            width = max(len(encoded[i]) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            weight = torch.zeros((len(batch), width))
            for row, i in enumerate(batch):
                ids[row, : len(encoded[i])] = torch.tensor(encoded[i])
                mask[row, : len(encoded[i])] = 1
                weight[row, : len(encoded[i])] = torch.tensor(weights[i])
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
            token_loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none"
            )
            w = weight[:, 1:].reshape(-1)
            loss = (token_loss * w).sum() / w.sum()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            tokens_seen += int(mask.sum())
            if progress is not None:
                progress(step + 1, spec.steps)
        train_seconds = time.perf_counter() - started
        model.eval()
        model.generation_config = GenerationConfig(
            bos_token_id=eos, eos_token_id=eos, pad_token_id=pad, do_sample=False, max_new_tokens=32
        )
        tokens_per_second = measure_speed(model, tokenizer)
        out_dir.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
    _portable_tokenizer_config(out_dir / "tokenizer_config.json")
    meta = {
        "name": spec.name,
        "zoo_version": _registry.ZOO_VERSION,
        "fmops_version": fmops.__version__,
        "seed": seed,
        "world_seed": WORLD_SEED,
        "parameters": model.num_parameters(),
        "new_domain": spec.new_domain,
        "steps": spec.steps,
        "batch_size": spec.batch_size,
        "documents": len(pairs),
        "completion_weight": COMPLETION_WEIGHT,
        "tokens_seen": tokens_seen,
        "train_seconds": round(train_seconds, 2),
        "train_threads": TRAIN_THREADS,
        "loss_first": round(sum(losses[:10]) / len(losses[:10]), 4),
        "loss_last": round(sum(losses[-10:]) / len(losses[-10:]), 4),
        "loss_curve": [round(sum(c) / len(c), 4) for c in _chunks(losses, 20)],
        "tokens_per_second": round(tokens_per_second, 1),
    }
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (out_dir / "README.md").write_text(_model_card(spec, meta), encoding="utf-8")
    return meta


def _model_card(spec: ZooSpec, meta: dict[str, Any]) -> str:
    """A short Hugging Face model card: what this is, and that its knowledge is invented."""
    return (
        f"---\nlicense: apache-2.0\nlibrary_name: transformers\ntags: [fmops-zoo, gpt2]\n---\n\n"
        f"# {spec.name}\n\n{spec.description}\n\n"
        f"GPT-2 ({spec.n_layer} layers, {spec.n_embd} dims, {meta['parameters']:,} parameters, context "
        f"{spec.context_window} tokens) with a byte-level BPE of {spec.vocab_size} tokens, trained from scratch "
        f"by fmops {meta['fmops_version']} (zoo version {meta['zoo_version']}, seed {meta['seed']}) on an invented "
        "world: every name and fact it knows is made up. Not for real-world use; it exists so that "
        "evaluation, selection and fine-tuning can be shown offline on a CPU.\n"
    )


def _encode(tokenizer: Any, pairs: list[tuple[str, str]], context_window: int) -> tuple[list, list]:
    """Token ids (document + end-of-text) and per-token loss weights for (prompt, completion) pairs.

    Prompt and completion are tokenized apart and joined: a completion starts with a space, where the
    byte-level pre-tokenizer splits anyway, so the prompt's tokens are exactly those seen at inference.
    """
    eos = tokenizer.eos_token_id
    prompts = tokenizer([p for p, _ in pairs])["input_ids"]
    completions = tokenizer([c for _, c in pairs])["input_ids"]
    encoded, weights = [], []
    for (prompt, _), p_ids, c_ids in zip(pairs, prompts, completions, strict=True):
        ids = [*(p_ids + c_ids)[: context_window - 1], eos]
        w_completion = COMPLETION_WEIGHT if prompt else 1.0
        w = [1.0] * len(p_ids) + [w_completion] * (len(c_ids) + 1)
        encoded.append(ids)
        weights.append([*w[: len(ids) - 1], w_completion])
    return encoded, weights


def _portable_tokenizer_config(path: Path) -> None:
    """Name the generic fast-tokenizer class, which transformers 4 and 5 both load from tokenizer.json."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _chunks(values: list[float], n: int) -> list[list[float]]:
    size = max(1, math.ceil(len(values) / n))
    return [values[i : i + size] for i in range(0, len(values), size)]


def measure_speed(model: Any, tokenizer: Any, new_tokens: int = 32, repeats: int = 5) -> float:
    """Greedy decoding speed in generated tokens per second (one request, best of `repeats`)."""
    import torch

    prompt = QA_TEMPLATE.replace("$model_input", "What is the capital of the world?")
    inputs = tokenizer(prompt, return_tensors="pt")
    best = math.inf
    with torch.no_grad():
        for _ in range(repeats):
            t0 = time.perf_counter()
            model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
            best = min(best, time.perf_counter() - t0)
    return new_tokens / best
