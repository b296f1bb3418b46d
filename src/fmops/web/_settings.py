"""The console's settings and the state its pages share (index, sessions, templates, the store)."""

from __future__ import annotations

import ipaddress
import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SecretStr
from sqlalchemy import Engine

from fmops.core.errors import BadInputError
from fmops.core.settings import fmops_home
from fmops.web._auth import KeyResolver, Sessions
from fmops.web._index import RunIndex

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates

PACKAGE = Path(__file__).parent


class WebSettings(BaseModel):
    """`fmops web`'s options: where to listen, which run folders to show, whether to ask for a key."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    runs: list[Path] = Field(default_factory=list)
    auth: bool = False
    admin_key: SecretStr | None = None
    store_url: str | None = None
    index_path: Path | None = None
    #: Seconds between re-scans of the run folders (a scan only stats unchanged folders).
    rescan_s: float = 10.0
    #: Monitoring rules (a YAML file, see `fmops.web._monitor`): the Monitoring page appears with them.
    monitor: Path | None = None
    #: Where review queues built from gateway traffic keep their snapshots (run folders); by default
    #: `traffic/` beside the index (`FMOPS_HOME/web/traffic`).
    traffic_dir: Path | None = None

    def check(self) -> None:
        """Refuse the unsafe or impossible: no key outside loopback, --auth without an admin key."""
        if self.auth and not (self.admin_key and self.admin_key.get_secret_value()):
            raise BadInputError("--auth needs the admin key in $FMOPS_ADMIN_KEY")
        if not self.auth and not _is_loopback(self.host):
            raise BadInputError(
                f"--host {self.host}: without --auth the console only listens on loopback (127.0.0.1); "
                "add --auth to serve it to others"
            )
        if self.monitor is not None and not self.monitor.is_file():
            raise BadInputError(f"--monitor {self.monitor}: no such file")
        for folder in self.runs:
            if not folder.is_dir():
                raise BadInputError(f"--runs {folder}: no such folder")

    def resolved_index_path(self) -> Path:
        return self.index_path or fmops_home() / "web" / "index.sqlite"

    def resolved_traffic_dir(self) -> Path:
        return (self.traffic_dir or self.resolved_index_path().parent / "traffic").resolve()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Console:
    """What every request handler reaches through `request.app.state.console`."""

    settings: WebSettings
    index: RunIndex
    sessions: Sessions
    templates: Jinja2Templates
    resolvers: list[KeyResolver] = field(default_factory=list)
    _engine: Engine | None = None
    _engine_lock: threading.Lock = field(default_factory=threading.Lock)
    _last_scan: float = 0.0
    #: The monitoring loop (`_schedule.AlertSchedule`), when the rules file sets `interval_s`.
    schedule: Any = None

    def engine(self) -> Engine:
        """The fmops store, opened (and migrated) on first use: pages that do not need it never wait for it."""
        with self._engine_lock:
            if self._engine is None:
                from fmops.store import open_database

                self._engine = open_database(self.settings.store_url)
            return self._engine

    def maybe_rescan(self, now: float) -> None:
        if now - self._last_scan >= self.settings.rescan_s:
            self._last_scan = now
            self.index.refresh()


def script_json(value: Any) -> str:
    """JSON that is safe inside a <script type="application/json"> element (no tag or comment can open)."""
    text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"), default=str)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, escaped)
    return text


def _finite(value: Any) -> Any:
    # JSON has no NaN or infinity: a missing value is null.
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
