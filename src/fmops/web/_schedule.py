"""Monitoring on a schedule inside the console: every `interval_s` (from the rules file) a background
task checks the gateway's traffic and sends the webhook the alerts that started firing since the last
check. An alert that keeps firing is sent once; one that stops and fires again is sent again. A webhook
that cannot be reached keeps its alerts unsent, so the next check tries them again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fmops.web._monitor import ModelHealth, MonitorRules, alert_key, send_alerts

log = logging.getLogger("fmops.web")

#: One check: the rules in force now (the file is read again each time) and what they found.
CheckFn = Callable[[], tuple[MonitorRules, list[ModelHealth]]]


class AlertSchedule:
    """The console's monitoring loop; `sleep` is replaceable so tests drive it without waiting."""

    def __init__(
        self,
        check: CheckFn,
        *,
        send: Callable[[str, list[ModelHealth], set[str]], int] = send_alerts,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        interval_s: float = 300.0,
    ) -> None:
        self._check = check
        self._send = send
        self._sleep = sleep
        #: Seconds between checks: the rules file's `interval_s`, as last read.
        self.interval_s = interval_s
        #: Alerts (`alert_key`) already sent that were still firing at the last check.
        self.firing: set[str] = set()
        self.checks = 0
        self.sent = 0
        self.last_check: datetime | None = None
        self.last_error: str | None = None

    async def tick(self) -> int:
        """Check once and send what is new; returns how many alerts were sent."""
        rules, health = await asyncio.to_thread(self._check)
        self.interval_s = rules.interval_s or self.interval_s
        self.checks += 1
        self.last_check = datetime.now(UTC)
        now_firing = {alert_key(h, rule) for h in health for rule in h.fired}
        new = now_firing - self.firing
        self.firing &= now_firing  # stopped firing: a later return is news again
        if not new or not rules.webhook:
            return 0
        sent = await asyncio.to_thread(self._send, rules.webhook, health, new)
        self.firing |= new
        self.sent += sent
        return sent

    async def run(self) -> None:
        """Check, then wait `interval_s`, until cancelled."""
        while True:
            try:
                await self.tick()
                self.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store or the webhook blinked: report it, try again next round
                self.last_error = str(exc)
                log.warning("monitoring check failed: %s", exc)
            await self._sleep(self.interval_s)
