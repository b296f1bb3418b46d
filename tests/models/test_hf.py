"""The local Hugging Face provider on a tiny random GPT-2 built in a temp folder (nothing downloaded)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from fmops.core.errors import BadInputError, MissingDependencyError
from fmops.models import (
    CapabilityError,
    ChatMessage,
    GenerateConfig,
    GenerateRequest,
    ScoreRequest,
    TokenSource,
    get_model,
)

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

PROMPTS = ["Hello world", "The quick brown fox jumps over", "A", "Evaluation measures accuracy and"]


def reference_logprob(folder: Path, text: str, prefix: str = "") -> float:
    """log P(text | [BOS] prefix) from one unpadded forward pass, written out longhand."""
    tok = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()
    bos = [tok.bos_token_id] if tok.bos_token_id is not None else []
    ctx = bos + (tok(prefix, add_special_tokens=False)["input_ids"] if prefix else [])
    ids = ctx + tok(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].double(), -1)
    return sum(float(logp[i - 1, ids[i]]) for i in range(max(1, len(ctx)), len(ids)))


def test_batched_generation_matches_one_by_one_and_direct_generate(tiny_gpt2: Path) -> None:
    cfg = GenerateConfig(max_tokens=6, temperature=0, logprobs=True)
    batched = get_model(f"hf/{tiny_gpt2}", ["batch_size=4"], store=False)
    single = get_model(f"hf/{tiny_gpt2}", ["batch_size=1"], store=False)
    reqs = [GenerateRequest(prompt=p, config=cfg) for p in PROMPTS]
    a = batched.generate_sync(reqs)
    b = single.generate_sync(reqs)
    assert a.summary.calls == 1 and b.summary.calls == 4
    hf = single.api.loaded()
    tok = single.api.tokenizer
    for ra, rb, prompt in zip(a, b, PROMPTS, strict=True):
        assert ra.text == rb.text and ra.output_tokens == rb.output_tokens
        assert ra.token_logprobs == pytest.approx(rb.token_logprobs, abs=1e-4)
        assert ra.logprob == pytest.approx(sum(ra.token_logprobs))
        assert ra.token_source == TokenSource.TOKENIZER and ra.input_tokens == len(tok(prompt)["input_ids"])
        enc = tok(prompt, return_tensors="pt")
        direct = hf.generate(**enc, max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id)
        assert ra.text == tok.decode(direct[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)


def test_max_tokens_and_stop_strings(tiny_gpt2: Path) -> None:
    model = get_model(f"hf/{tiny_gpt2}", store=False)
    free = model.generate_sync(
        [GenerateRequest(prompt="Hello", config=GenerateConfig(max_tokens=8, temperature=0))]
    )[0]
    assert free.finish_reason == "length" and free.output_tokens == 8
    stop = free.text[3:5]
    assert stop
    cut = model.generate_sync(
        [GenerateRequest(prompt="Hello", config=GenerateConfig(max_tokens=8, temperature=0, stop=(stop,)))]
    )[0]
    assert cut.finish_reason == "stop" and stop not in cut.text
    assert free.text.startswith(cut.text) and cut.output_tokens <= free.output_tokens


def test_sampling_is_reproducible_with_a_seed(tiny_gpt2: Path) -> None:
    model = get_model(f"hf/{tiny_gpt2}", store=False)
    req = GenerateRequest(prompt="Hello", config=GenerateConfig(max_tokens=8, temperature=1.5, seed=3))
    assert model.generate_sync([req])[0].text == model.generate_sync([req])[0].text


def test_score_is_exact_with_bos_and_batched(tiny_gpt2: Path) -> None:
    model = get_model(f"hf/{tiny_gpt2}", ["batch_size=8"], store=False)
    reqs = [ScoreRequest(text=p) for p in PROMPTS] + [ScoreRequest(text=" brown fox", prefix="The quick")]
    out = model.score_sync(reqs)
    assert out.summary.calls == 1
    for r, req in zip(out, reqs, strict=True):
        assert r.logprob == pytest.approx(reference_logprob(tiny_gpt2, req.text, req.prefix), abs=1e-4)
    one = get_model(f"hf/{tiny_gpt2}", ["batch_size=1"], store=False).score_sync(reqs)
    assert [r.logprob for r in one] == pytest.approx([r.logprob for r in out], abs=1e-4)


def test_score_without_bos_leaves_the_first_token_out(tiny_gpt2_chat_nobos: Path) -> None:
    folder = tiny_gpt2_chat_nobos
    model = get_model(f"hf/{folder}", store=False)
    assert model.api.tokenizer.bos_token_id is None
    r = model.score_sync(["Hello world", "A"])
    assert r[0].logprob == pytest.approx(reference_logprob(folder, "Hello world"), abs=1e-4)
    assert r[1].logprob == 0.0  # a single token with nothing before it


def test_chat_template_is_used_for_messages(tiny_gpt2_chat_nobos: Path, tiny_gpt2: Path) -> None:
    chat = get_model(f"hf/{tiny_gpt2_chat_nobos}", store=False)
    assert chat.capabilities.chat
    msgs = (ChatMessage(role="user", content="Hi"),)
    r = chat.generate_sync(
        [
            GenerateRequest(
                messages=msgs, system="Be kind.", config=GenerateConfig(max_tokens=3, temperature=0)
            )
        ]
    )[0]
    rendered = "<|system|>Be kind.\n<|user|>Hi\n<|assistant|>"
    assert r.ok and r.input_tokens == len(chat.api.tokenizer(rendered, add_special_tokens=False)["input_ids"])
    plain = get_model(f"hf/{tiny_gpt2}", store=False)
    assert not plain.capabilities.chat
    with pytest.raises(CapabilityError):
        plain.generate_sync([GenerateRequest(messages=msgs)])


def test_fingerprint_follows_the_weights_not_the_path(tiny_gpt2: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(tiny_gpt2, tmp_path / "copy")
    original = get_model(f"hf/{tiny_gpt2}", store=False)
    assert get_model(f"hf/{copy}", store=False).fingerprint == original.fingerprint
    model = transformers.AutoModelForCausalLM.from_pretrained(copy, local_files_only=True)
    with torch.no_grad():
        model.transformer.h[0].mlp.c_fc.weight.mul_(1.01)
    model.save_pretrained(copy)
    assert get_model(f"hf/{copy}", store=False).fingerprint != original.fingerprint
    assert get_model(f"hf/{tiny_gpt2}", ["dtype=bfloat16"], store=False).fingerprint != original.fingerprint


def test_lora_adapter_is_applied(tiny_gpt2: Path, tmp_path: Path) -> None:
    peft = pytest.importorskip("peft")
    base = transformers.AutoModelForCausalLM.from_pretrained(tiny_gpt2, local_files_only=True)
    config = peft.LoraConfig(
        r=4, lora_alpha=64, target_modules=["c_attn"], init_lora_weights=False, fan_in_fan_out=True
    )
    peft.get_peft_model(base, config).save_pretrained(tmp_path / "adapter")
    plain = get_model(f"hf/{tiny_gpt2}", store=False)
    tuned = get_model(f"hf/{tiny_gpt2}", [f"adapter={tmp_path / 'adapter'}"], store=False)
    assert tuned.fingerprint != plain.fingerprint
    assert plain.score_sync(["Hello world"])[0].logprob != pytest.approx(
        tuned.score_sync(["Hello world"])[0].logprob, abs=1e-3
    )


def test_user_errors_and_install_hints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BadInputError, match="download=true"):
        get_model("hf/org/not-here", store=False)
    with pytest.raises(BadInputError, match="adapter folder"):
        get_model(f"hf/{tmp_path}", [f"adapter={tmp_path / 'nope'}"], store=False)
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'fmops\[hf\]'"):
        get_model(f"hf/{tmp_path}", store=False)


def test_cuda_on_a_torch_without_it_is_a_one_line_error(
    tiny_gpt2: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    model = get_model(f"hf/{tiny_gpt2}", ["device=cuda"], store=False)
    with pytest.raises(BadInputError, match="CUDA is not available"):
        model.api.loaded()


def test_models_loaded_in_parallel_threads_keep_their_tied_weights(
    tiny_gpt2: Path, tiny_gpt2_chat_nobos: Path
) -> None:
    # A comparison loads its models from several threads at once; transformers 5 loads on the meta
    # device process-wide, so unserialized loads left a tied lm_head on "meta" and every call failed.
    from concurrent.futures import ThreadPoolExecutor

    models = [get_model(f"hf/{folder}", store=False) for folder in (tiny_gpt2, tiny_gpt2_chat_nobos) * 3]
    with ThreadPoolExecutor(len(models)) as pool:
        loaded = list(pool.map(lambda m: m.api.loaded(), models))
    for torch_model in loaded:
        assert {p.device.type for p in torch_model.parameters()} == {"cpu"}
        assert torch_model.lm_head.weight is torch_model.transformer.wte.weight
