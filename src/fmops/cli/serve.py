"""`fmops serve SPEC`: serve any fmops model with an OpenAI-compatible API (mounted by `fmops.cli`).

The command lives in `fmops.serving` (so `python -m fmops.serving` needs no CLI); this face adds the
CLI's one-line errors.
"""

from __future__ import annotations

from fmops.cli._common import user_errors
from fmops.serving import serve_command as _serve_command

serve_command = user_errors(_serve_command)

__all__ = ["serve_command"]
