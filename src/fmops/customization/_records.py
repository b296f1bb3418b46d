"""Training records as the trainer sees them: the base's tokenizer, a record's length in its tokens, and
records turned into the shape TRL's SFTTrainer takes.

These sit together because they must agree: the length check before training counts a record exactly as
the trainer will format it (a plain prompt/completion on a chat base becomes a user turn and an answer, in
both), and the replay records cached in a job folder go through the same formatting as the user's data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def load_tokenizer(folder: Path) -> Any:
    from fmops.core.optional import torch_and_transformers

    transformers = torch_and_transformers("Fine-tuning")[1]
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def token_counter(tokenizer: Any, chat: bool) -> Callable[[dict[str, Any]], int]:
    def count(record: dict[str, Any]) -> int:
        if chat and "prompt" in record:
            record = {"messages": _conversation(record["prompt"], record["completion"])}
        if "messages" in record:
            if getattr(tokenizer, "chat_template", None):
                ids = tokenizer.apply_chat_template(record["messages"], tokenize=True)
                ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
                return len(ids)
            text = "\n".join(m["content"] for m in record["messages"])
        elif "text" in record:
            text = record["text"]
        else:
            text = record["prompt"] + record["completion"]
        return len(tokenizer(text)["input_ids"]) + 1  # + the end-of-sequence token the trainer appends

    return count


def _conversation(prompt: str, completion: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion.strip()}]


def as_trainer_records(
    records: list[dict[str, Any]], target: str, *, chat: bool = False
) -> list[dict[str, Any]]:
    """Records as the trainer takes them: chat as conversational prompt/completion; text when asked.

    With `chat` (a base whose plain prompts go through its chat template), prompt/completion records
    become a user turn and the assistant's answer too: trained as the model is prompted at evaluation
    and serving, with the loss on the answer only.
    """
    out = []
    for r in records:
        if target == "text":
            if "messages" in r:
                out.append({"text": "\n".join(m["content"] for m in r["messages"])})
            elif "prompt" in r:
                out.append({"text": r["prompt"] + r["completion"]})
            else:
                out.append(r)
        elif "messages" in r:
            # The last assistant turn is learned; the turns before it are its prompt.
            out.append({"prompt": r["messages"][:-1], "completion": r["messages"][-1:]})
        elif chat and isinstance(r.get("prompt"), str):
            turns = _conversation(r["prompt"], r["completion"])
            out.append({"prompt": turns[:1], "completion": turns[1:]})
        else:
            out.append(r)
    return out
