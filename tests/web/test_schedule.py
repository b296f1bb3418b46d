"""Monitoring on a schedule inside the console: checks on its own, sends an alert once while it keeps
firing (again when it comes back), retries what the webhook did not take; and the online judge score.
Driven by scripted checks and a fake sleep, and end to end with a loopback webhook receiver."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fmops.core.errors import BadInputError
from fmops.web import WebSettings, create_app
from fmops.web._monitor import ModelHealth, MonitorRules, check
from fmops.web._schedule import AlertSchedule
from tests.web.test_monitor import ADMIN, _rules, _store

RULES = MonitorRules(webhook="http://127.0.0.1:9/alerts", interval_s=60)


def _health(model: str, *rules: str) -> ModelHealth:
    return ModelHealth(
        model=model,
        requests=10,
        errors=0,
        error_rate=0.0,
        latency_p50_s=0.1,
        latency_p95_s=0.2,
        scored=0,
        toxicity=None,
        guardrail_interventions=0,
        alerts=[f"{model}: {rule} fired" for rule in rules],
        fired=list(rules),
    )


class Script:
    """Checks that return a prepared sequence of findings; a send that records (or fails when told)."""

    def __init__(self, rounds: list[list[ModelHealth]]) -> None:
        self.rounds = rounds
        self.sent: list[list[str]] = []
        self.fail_next = False

    def check(self) -> tuple[MonitorRules, list[ModelHealth]]:
        return RULES, self.rounds.pop(0)

    def send(self, webhook: str, health: list[ModelHealth], only: set[str]) -> int:
        if self.fail_next:
            self.fail_next = False
            raise BadInputError(f"webhook {webhook}: connection refused")
        texts = [
            a for h in health for a, r in zip(h.alerts, h.fired, strict=True) if f"{h.model}:{r}" in only
        ]
        self.sent.append(texts)
        return len(texts)


def test_an_alert_is_sent_once_while_it_keeps_firing_and_again_when_it_returns() -> None:
    script = Script(
        [
            [_health("qa", "latency", "errors"), _health("calm")],
            [_health("qa", "latency", "errors")],  # still firing: nothing new
            [_health("qa", "latency")],  # errors stopped
            [_health("qa", "latency", "errors"), _health("calm", "judge")],  # errors back, calm new
            [_health("qa")],
        ]
    )
    schedule = AlertSchedule(script.check, send=script.send)
    sent = [asyncio.run(schedule.tick()) for _ in range(5)]
    assert sent == [2, 0, 0, 2, 0]
    assert script.sent == [
        ["qa: latency fired", "qa: errors fired"],
        ["qa: errors fired", "calm: judge fired"],
    ]
    assert schedule.firing == set() and schedule.checks == 5 and schedule.sent == 4


def test_alerts_the_webhook_did_not_take_are_sent_at_the_next_check() -> None:
    script = Script([[_health("qa", "errors")], [_health("qa", "errors")], [_health("qa", "errors")]])
    schedule = AlertSchedule(script.check, send=script.send)
    script.fail_next = True
    with pytest.raises(BadInputError, match="connection refused"):
        asyncio.run(schedule.tick())
    assert schedule.firing == set()  # not delivered: still news
    assert asyncio.run(schedule.tick()) == 1 and asyncio.run(schedule.tick()) == 0
    assert script.sent == [["qa: errors fired"]]


def test_the_loop_waits_the_rules_interval_and_survives_a_failed_check() -> None:
    waits: list[float] = []
    calls = {"n": 0}

    def flaky_check() -> tuple[MonitorRules, list[ModelHealth]]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise BadInputError("rules.yaml: error_rate: Input should be less than or equal to 1")
        return RULES.model_copy(update={"interval_s": 30.0 * calls["n"]}), [_health("qa", "errors")]

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            raise asyncio.CancelledError  # what stopping the console does

    script = Script([])
    schedule = AlertSchedule(flaky_check, send=script.send, sleep=fake_sleep, interval_s=5)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(schedule.run())
    assert waits == [30.0, 30.0, 90.0]  # the interval as last read; a failed check keeps the last one
    assert schedule.checks == 2 and script.sent == [["qa: errors fired"]]
    assert schedule.last_error is None  # the third check succeeded


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, object]], threading.Event]]:
    received: list[dict[str, object]] = []
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(204)
            self.end_headers()
            arrived.set()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/alerts", received, arrived
    server.shutdown()


def test_the_console_checks_on_its_own_and_alerts_the_webhook(
    tmp_path: Path, receiver: tuple[str, list[dict[str, object]], threading.Event]
) -> None:
    hook, received, arrived = receiver
    url = _store(tmp_path)
    rules = _rules(tmp_path, hook)
    rules.write_text(rules.read_text(encoding="utf-8") + "interval_s: 3600\n", encoding="utf-8")
    settings = WebSettings(
        runs=[],
        auth=True,
        admin_key=ADMIN,
        store_url=url,
        index_path=tmp_path / "index.sqlite",
        monitor=rules,
    )
    app = create_app(settings)
    with TestClient(app) as client:  # the lifespan starts the loop; its first check runs at once
        assert arrived.wait(timeout=120), "the scheduled check never reached the webhook"
        [payload] = received
        assert len(payload["alerts"]) == 4 and [m["model"] for m in payload["models"]] == ["qa"]  # type: ignore[arg-type,index,union-attr]
        schedule = app.state.console.schedule
        assert asyncio.run(schedule.tick()) == 0 and len(received) == 1  # still firing: not sent again
        token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"key": ADMIN, "csrf": token})
        page = client.get("/monitoring").text
        assert "Checked on its own every 3600 s" in page and "4 alerts sent" in page
        assert hook not in page


def test_bad_rules_stop_the_start_and_no_interval_means_no_loop(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("interval_s: 0\n", encoding="utf-8")
    settings = WebSettings(index_path=tmp_path / "index.sqlite", monitor=rules)
    with pytest.raises(BadInputError, match="interval_s: Input should be greater than 0"):
        create_app(settings)
    rules.write_text("error_rate: 0.1\n", encoding="utf-8")
    assert create_app(settings).state.console.schedule is None


def test_the_online_judge_scores_stored_answers(tmp_path: Path) -> None:
    from fmops.gateway import LedgerRow, insert_rows
    from fmops.store import open_database

    engine = open_database(f"sqlite:///{tmp_path / 'fmops.sqlite'}")
    now = datetime.now(UTC)
    rows = []
    for i in range(8):
        start = now - timedelta(minutes=i + 1)
        for model, bad in (("good", False), ("poor", i < 6)):
            rows.append(
                LedgerRow(
                    request_id=f"{model}{i}",
                    received_at=start,
                    done_at=start + timedelta(seconds=0.1),
                    model=model,
                    endpoint="chat",
                    status=200,
                    prompt=f"question {i}",
                    response=f"answer {i}" + (". Score: 1" if bad else ""),
                )
            )
    insert_rows(engine, rows)
    # The echo judge repeats its prompt after "Score: 5.": the verdict is the last "Score: N" line, so
    # an answer that ends in "Score: 1" gets 1 (normalized 0) and any other answer 5 (normalized 1).
    rules = MonitorRules(judge="echo/judge", judge_args=["prefix=Score: 5. "], min_judge_score=0.5)
    health = {h.model: h for h in check(engine, rules)}
    assert (health["good"].judge_score, health["good"].judged, health["good"].judge_failures) == (1.0, 8, 0)
    assert health["poor"].judge_score == pytest.approx(2 / 8)
    assert health["poor"].fired == ["judge"] and health["good"].fired == []
    assert "mean judge score 0.250 < 0.5" in health["poor"].alerts[0]
