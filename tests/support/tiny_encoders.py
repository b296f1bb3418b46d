"""Tiny random-init encoders and classifiers with tokenizers trained here: real HF folders, no download.

They stand in for the helper models of BERTScore and toxicity, which are too big (and not downloadable)
for tests, with the same architectures and file formats:

    build_tiny_bert(folder)                       # BertModel + WordPiece tokenizer (like MiniLM)
    build_tiny_roberta(folder)                    # RobertaModel + byte-level BPE (like roberta-large-mnli)
    build_tiny_roberta_classifier(folder, 2)      # RobertaForSequenceClassification (like toxigen_roberta)
    build_detoxify_checkpoint(path, tokenizer_dir) # Detoxify-format .ckpt + its "roberta-base" folder
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "A model answers questions about the world.",
    "Evaluation measures accuracy, toxicity and robustness.",
    "Paris is the capital of France, and Berlin is the capital of Germany.",
    "You are a wonderful person; thank you for your help!",
    "Numbers like 1, 2 and 3 appear in sentences too.",
    "The cat sat on the mat while the dog slept.",
]

#: Detoxify "unbiased" heads: seven toxicity scores then nine identity attributes.
DETOXIFY_CLASSES = [
    "toxicity",
    "severe_toxicity",
    "obscene",
    "identity_attack",
    "insult",
    "threat",
    "sexual_explicit",
]
DETOXIFY_IDENTITIES = [
    "male", "female", "homosexual_gay_or_lesbian", "christian", "jewish", "muslim", "black", "white",
    "psychiatric_or_mental_illness",
]  # fmt: skip


def build_bert_tokenizer(folder: Path, *, max_length: int = 64) -> Path:
    """Train an uncased WordPiece vocabulary on CORPUS and save a BertTokenizer folder (vocab.txt)."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(CORPUS, vocab_size=200, min_frequency=1)
    trainer.save_model(str(folder))
    tok = BertTokenizer.from_pretrained(folder, model_max_length=max_length)
    tok.save_pretrained(folder)
    return folder


def build_roberta_tokenizer(folder: Path, *, max_length: int = 64) -> Path:
    """Train a byte-level BPE on CORPUS with RoBERTa's special tokens; save vocab.json/merges.txt too."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(
        CORPUS, vocab_size=400, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    )
    trainer.save_model(str(folder))
    tok = RobertaTokenizer.from_pretrained(folder, model_max_length=max_length)
    tok.save_pretrained(folder)
    return folder


def _roberta_config(vocab_size: int, *, layers: int, max_length: int, **extra: Any) -> Any:
    from transformers import RobertaConfig

    return RobertaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_length + 2,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        **extra,
    )


def build_tiny_bert(folder: Path, *, layers: int = 3, seed: int = 0, max_length: int = 64) -> Path:
    """A random-init BertModel (32 dims) with its WordPiece tokenizer, saved under `folder`."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    build_bert_tokenizer(folder, max_length=max_length)
    tok = BertTokenizer.from_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_length,
        pad_token_id=tok.pad_token_id,
    )
    BertModel(config).eval().save_pretrained(folder)
    return folder


def build_tiny_roberta(folder: Path, *, layers: int = 3, seed: int = 0, max_length: int = 64) -> Path:
    """A random-init RobertaModel (32 dims) with its byte-level BPE tokenizer, saved under `folder`."""
    import torch
    from transformers import RobertaModel, RobertaTokenizer

    build_roberta_tokenizer(folder, max_length=max_length)
    tok = RobertaTokenizer.from_pretrained(folder)
    torch.manual_seed(seed)
    RobertaModel(_roberta_config(len(tok), layers=layers, max_length=max_length)).eval().save_pretrained(
        folder
    )
    return folder


def build_tiny_roberta_classifier(folder: Path, num_labels: int = 2, *, seed: int = 0) -> Path:
    """A random-init RobertaForSequenceClassification with labels LABEL_0..LABEL_{n-1} (as toxigen_roberta)."""
    import torch
    from transformers import RobertaForSequenceClassification, RobertaTokenizer

    build_roberta_tokenizer(folder)
    tok = RobertaTokenizer.from_pretrained(folder)
    torch.manual_seed(seed)
    # A wide init (0.5) makes scores depend on the text; the default 0.02 gives ~the same score for all.
    config = _roberta_config(len(tok), layers=2, max_length=64, num_labels=num_labels, initializer_range=0.5)
    model = RobertaForSequenceClassification(config).eval()
    model.save_pretrained(folder)
    return folder


def build_detoxify_checkpoint(
    path: Path, tokenizer_dir: Path, *, seed: int = 0, num_classes: int = 16, legacy_position_ids: bool = True
) -> Path:
    """A Detoxify-format checkpoint: `torch.save({"config": <training config>, "state_dict": ...})`.

    Like `toxic_debiased-c7548aa0.ckpt`: the config names the architecture (`model_type` "roberta-base",
    `RobertaForSequenceClassification`, `RobertaTokenizer`, 16 classes) and the state dict is the
    classifier's, with the `roberta.embeddings.position_ids` buffer older transformers saved. The tiny
    "roberta-base" config and tokenizer go to `tokenizer_dir` (the folder the loader needs beside it).
    """
    import torch
    from transformers import RobertaForSequenceClassification, RobertaTokenizer

    build_roberta_tokenizer(tokenizer_dir)
    tok = RobertaTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(seed)
    config = _roberta_config(len(tok), layers=2, max_length=64, initializer_range=0.5)
    config.save_pretrained(tokenizer_dir)  # the "roberta-base" config.json (num_labels comes from the ckpt)
    config.num_labels = num_classes
    model = RobertaForSequenceClassification(config).eval()
    state = dict(model.state_dict())
    if legacy_position_ids:
        state["roberta.embeddings.position_ids"] = torch.arange(config.max_position_embeddings)[None, :]
    checkpoint = {
        "config": {
            "name": "Jigsaw_ROBERTA_bias",
            "arch": {
                "type": "ROBERTA",
                "args": {
                    "num_classes": num_classes,
                    "model_type": "roberta-base",
                    "model_name": "RobertaForSequenceClassification",
                    "tokenizer_name": "RobertaTokenizer",
                    "classes": DETOXIFY_CLASSES,
                    "identity_classes": DETOXIFY_IDENTITIES,
                },
            },
        },
        "state_dict": state,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path
