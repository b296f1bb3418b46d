"""A tiny random-init GPT-2 and a byte-level BPE tokenizer trained here: a real HF folder, no download.

folder = build_tiny_gpt2(tmp_path / "tiny")            # 2 layers, 32 dims
folder = build_tiny_gpt2(tmp_path / "chat", chat_template=True)
"""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "A model answers questions about the world.",
    "Evaluation measures accuracy, toxicity and robustness.",
    "Hello world, this is a tiny tokenizer for tests.",
    "Numbers like 1, 2 and 3 appear in sentences too.",
    "She said that he was a nurse; he said that she was a doctor.",
]

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tokenizer(
    folder: Path, *, bos: bool = True, chat_template: bool = False, vocab_size: int = 300
) -> Path:
    """Train a byte-level BPE on CORPUS and save it as a Hugging Face tokenizer folder."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|pad|>", "<|bos|>"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|endoftext|>",
        pad_token="<|pad|>",
        bos_token="<|bos|>" if bos else None,
    )
    if chat_template:
        fast.chat_template = CHAT_TEMPLATE
    folder.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(folder)
    return folder


def build_tiny_gpt2(
    folder: Path,
    *,
    layers: int = 2,
    dims: int = 32,
    heads: int = 2,
    bos: bool = True,
    chat_template: bool = False,
    seed: int = 0,
    positions: int = 256,
) -> Path:
    """Save a random-init GPT-2 with its own tokenizer under `folder` and return the folder."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    build_tokenizer(folder, bos=bos, chat_template=chat_template)
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=positions,
        n_embd=dims,
        n_layer=layers,
        n_head=heads,
        bos_token_id=tok.bos_token_id if bos else tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    model.save_pretrained(folder)
    model.generation_config.save_pretrained(folder)
    return folder
