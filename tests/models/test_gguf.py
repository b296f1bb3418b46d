"""GGUF files as a model source: a tiny Llama written here with the `gguf` package, converted once and cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmops.core.errors import BadInputError
from fmops.models import GenerateConfig, GenerateRequest, ScoreRequest
from fmops.models import _gguf as gguf_module
from fmops.models._gguf import MANIFEST, gguf_model_folder, read_conversion

gguf = pytest.importorskip("gguf")
np = pytest.importorskip("numpy")
pytest.importorskip("transformers")

_CHAT = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _byte_alphabet() -> list[str]:
    """GPT-2's byte-to-character table: every byte is a token, so any text can be encoded."""
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = list(kept), 0
    for b in range(256):
        if b not in kept:
            kept.append(b)
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


def write_tiny_llama(path: Path, *, seed: int = 0, quantized_tensor: bool = False) -> Path:
    """A 2-layer, 32-dim random Llama with a byte-level BPE tokenizer and a chat template, as GGUF."""
    tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *_byte_alphabet(), "He", "ll"]
    hidden, ffn, layers, heads, kv_heads = 32, 64, 2, 4, 2
    head_dim = hidden // heads
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny test llama")
    w.add_block_count(layers)
    w.add_context_length(128)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(head_dim)
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types([3, 3, 3] + [1] * (len(tokens) - 3))
    w.add_token_merges(["H e", "l l"])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_pad_token_id(2)
    w.add_add_bos_token(False)
    w.add_chat_template(_CHAT)
    rng = np.random.default_rng(seed)

    def dense(name: str, *shape: int) -> None:
        w.add_tensor(name, (rng.standard_normal(shape) * 0.05).astype(np.float32))

    if quantized_tensor:  # Q8_1 exists in GGUF but nothing dequantizes it
        w.add_tensor(
            "token_embd.weight",
            np.zeros((len(tokens), 40), np.uint8),
            raw_dtype=gguf.GGMLQuantizationType.Q8_1,
        )
    else:
        dense("token_embd.weight", len(tokens), hidden)
    w.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    for i in range(layers):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(hidden, np.float32))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(hidden, np.float32))
        dense(f"blk.{i}.attn_q.weight", hidden, hidden)
        dense(f"blk.{i}.attn_k.weight", head_dim * kv_heads, hidden)
        dense(f"blk.{i}.attn_v.weight", head_dim * kv_heads, hidden)
        dense(f"blk.{i}.attn_output.weight", hidden, hidden)
        dense(f"blk.{i}.ffn_gate.weight", ffn, hidden)
        dense(f"blk.{i}.ffn_up.weight", ffn, hidden)
        dense(f"blk.{i}.ffn_down.weight", hidden, ffn)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_llama(tmp_path_factory.mktemp("gguf") / "tiny-llama.gguf")


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every conversion that actually runs (a cache hit converts nothing)."""
    seen: list[Path] = []
    real = gguf_module._convert

    def counting(path: Path, digest: str, folder: Path) -> None:
        seen.append(path)
        real(path, digest, folder)

    monkeypatch.setattr(gguf_module, "_convert", counting)
    return seen


def test_gguf_file_is_converted_once_then_loaded_from_the_cache(
    tiny_gguf: Path, conversions: list[Path], fmops_home: Path
) -> None:
    from fmops.models._providers.hf import HFModel

    first = HFModel(str(tiny_gguf), max_new_tokens=4)
    assert conversions == [tiny_gguf]
    folder = first.path
    assert folder.parent == fmops_home / "models" / "gguf"
    conv = read_conversion(folder)
    assert folder.name == conv.sha256 and conv.architecture == "llama" and conv.tensor_types == {"F32": 20}
    assert (folder / "model.safetensors").is_file() and first.tokenizer.model_max_length == 128

    # The same file again, and the same file named through its folder: no second conversion.
    again = HFModel(str(tiny_gguf))
    by_folder = HFModel(str(tiny_gguf.parent), gguf_file=tiny_gguf.name, chat=True)
    assert conversions == [tiny_gguf]
    assert again.path == by_folder.path == folder
    assert first.fingerprint_data()["model"] == f"gguf:{conv.sha256}" == again.fingerprint_data()["model"]

    # The converted model generates, through the chat template when asked, and scores.
    out = by_folder.generate_blocking([GenerateRequest(prompt="Hello", config=GenerateConfig(max_tokens=3))])
    assert out[0].output_tokens is not None and out[0].input_tokens > 0
    assert by_folder._prompt_text(GenerateRequest(prompt="Hello"))[0].endswith("<|im_start|>assistant\n")
    scored = first.score_blocking([ScoreRequest(text="Hello")])
    assert scored[0].logprob is not None and scored[0].logprob < 0


def test_a_checksum_mismatch_is_refused_before_anything_is_converted(
    tiny_gguf: Path, conversions: list[Path], fmops_home: Path
) -> None:
    from fmops.models._providers.hf import HFModel

    with pytest.raises(BadInputError, match="sha256 is .* expected 0000"):
        HFModel(str(tiny_gguf), sha256="0" * 64)
    with pytest.raises(BadInputError, match="expected 64 hexadecimal characters"):
        HFModel(str(tiny_gguf), sha256=0)  # what `-M sha256=000...` parses to
    assert conversions == []
    assert not list((fmops_home / "models" / "gguf").glob(f"*/{MANIFEST}"))


def test_a_changed_file_is_hashed_again_not_taken_from_the_cache(
    tmp_path: Path, conversions: list[Path]
) -> None:
    path = write_tiny_llama(tmp_path / "m.gguf", seed=1)
    first = gguf_model_folder(path)
    write_tiny_llama(path, seed=2)  # new content under the same name
    second = gguf_model_folder(path)
    assert first != second and len(conversions) == 2
    assert gguf_model_folder(path) == second and len(conversions) == 2


def test_an_unsupported_quantization_type_is_a_clear_error(tmp_path: Path, conversions: list[Path]) -> None:
    path = write_tiny_llama(tmp_path / "q81.gguf", quantized_tensor=True)
    with pytest.raises(
        BadInputError, match=r"token_embd.weight uses quantization type Q8_1.*supported: .*Q4_1"
    ):
        gguf_model_folder(path)


def test_not_a_gguf_file_and_a_missing_one_are_user_errors(tmp_path: Path) -> None:
    from fmops.models._providers.hf import HFModel

    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a gguf file at all")
    with pytest.raises(BadInputError, match="not a readable GGUF file"):
        HFModel(str(bogus))
    with pytest.raises(BadInputError, match="GGUF file not found"):
        HFModel(str(tmp_path / "absent.gguf"))
    with pytest.raises(BadInputError, match="GGUF file not found"):
        HFModel(str(tmp_path), gguf_file="absent.gguf")


def test_bfloat16_is_an_opt_in(tiny_gguf: Path) -> None:
    import torch

    from fmops.models._providers.hf import HFModel

    assert HFModel(str(tiny_gguf)).loaded().dtype == torch.float32
    assert HFModel(str(tiny_gguf), dtype="bfloat16").loaded().dtype == torch.bfloat16
