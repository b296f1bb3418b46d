"""Checking an answer while it streams: text is released only once a window holding it has passed.

`StreamGuard.feed(chunk)` buffers the answer; once `window_chars + holdback_chars` are pending it applies
the policy (OUTPUT) to everything pending and releases all but the last `holdback_chars`, cut at a space
and never inside a masked entity, with its entities masked. The held-back tail is checked again with the
next chunk, so a word, phrase or entity split across chunks (or across the cut) is seen whole. A block ends
the stream: the step carries the result, whose `text` is the configured blocked message. `finish()`
checks and releases the rest. Contextual grounding needs the whole answer: check it with `Policy.apply`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fmops.guardrails._apply import Policy
from fmops.guardrails._mask import mask
from fmops.guardrails._result import GuardrailResult


@dataclass(frozen=True)
class StreamStep:
    release: str  # text to send now ("" while buffering)
    blocked: GuardrailResult | None = None  # set when the policy blocked the answer: end the stream


class StreamGuard:
    """One streamed answer checked in windows by `policy`."""

    def __init__(self, policy: Policy, *, window_chars: int = 400, holdback_chars: int = 80) -> None:
        if window_chars < 1 or holdback_chars < 0:
            raise ValueError("window_chars must be positive and holdback_chars not negative")
        self.policy = policy
        self.window_chars = window_chars
        self.holdback_chars = holdback_chars
        self.checks = 0
        self._pending = ""
        self._stopped = False

    def feed(self, chunk: str) -> StreamStep:
        if self._stopped:
            raise RuntimeError("the stream was blocked or finished")
        self._pending += chunk
        if len(self._pending) < self.window_chars + self.holdback_chars:
            return StreamStep("")
        return self._check(final=False)

    def finish(self) -> StreamStep:
        if self._stopped:
            raise RuntimeError("the stream was blocked or finished")
        step = self._check(final=True) if self._pending else StreamStep("")
        self._stopped = True
        return step

    def _check(self, final: bool) -> StreamStep:
        pending = self._pending
        self.checks += 1
        result, spans = self.policy._run(pending, "OUTPUT", None, None)
        if result.blocked:
            self._stopped = True
            return StreamStep("", result)
        cut = len(pending)
        if not final:
            cut -= self.holdback_chars
            space = pending.rfind(" ", 0, cut)
            cut = space + 1 if space > 0 else cut
            for span in sorted(spans, key=lambda s: s.start, reverse=True):
                if span.start < cut < span.end:
                    cut = span.start
        self._pending = pending[cut:]
        return StreamStep(mask(pending[:cut], [s for s in spans if s.end <= cut]))
