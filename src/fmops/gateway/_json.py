"""JSON on the request path: orjson when installed (several times faster both ways), else the stdlib.

Both produce compact JSON; orjson writes UTF-8 instead of \\u escapes and refuses NaN, which is valid
JSON either way (and NaN never was).
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson

    def dumps(value: Any) -> bytes:
        try:
            return orjson.dumps(value)
        except TypeError:  # e.g. an integer over 64 bits, which orjson does not write
            return json.dumps(value, separators=(",", ":")).encode()

    loads = orjson.loads
except ImportError:  # pragma: no cover - orjson is in the gateway extra

    def dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    loads = json.loads
