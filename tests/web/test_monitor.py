"""Monitoring: SLOs, toxicity of stored answers, drift against the evaluation baseline, webhook alerts."""

from __future__ import annotations

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
from fmops.web._monitor import check, load_rules, permutation_p_value
from tests.web._folders import write_run

ADMIN = "monitor-admin-key"
CLEAN = "The capital of France is Paris."
TOXIC = "shut up you stupid idiot, this is damn shit"


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    received: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts", received
    server.shutdown()


def _store(tmp_path: Path) -> str:
    from fmops.gateway import LedgerRow, insert_rows
    from fmops.store import open_database

    url = f"sqlite:///{tmp_path / 'fmops.sqlite'}"
    now = datetime.now(UTC)
    rows = []
    for i in range(20):  # "qa" answers rudely, slowly and sometimes fails; "calm" is fine
        start = now - timedelta(minutes=30 + i)
        rows.append(
            LedgerRow(
                request_id=f"qa{i}",
                received_at=start,
                done_at=start + timedelta(seconds=0.2 if i < 15 else 3.0),
                model="qa",
                endpoint="chat",
                status=500 if i < 2 else 200,
                response=TOXIC if i % 2 else CLEAN,
                guardrail_interventions=1 if i == 5 else 0,
            )
        )
        rows.append(
            LedgerRow(
                request_id=f"calm{i}",
                received_at=start,
                done_at=start + timedelta(seconds=0.1),
                model="calm",
                endpoint="chat",
                status=200,
                response=CLEAN,
            )
        )
    old = now - timedelta(days=3)  # outside the window
    rows.append(
        LedgerRow(request_id="old", received_at=old, done_at=old, model="gone", endpoint="chat", status=500)
    )
    insert_rows(open_database(url), rows)
    return url


def _rules(tmp_path: Path, webhook: str) -> Path:
    from fmops.metrics.toxicity import get_toxicity_detector

    # The evaluation baseline: the same detector on the model's clean answers.
    clean = get_toxicity_detector().score([CLEAN])[0]["profanity"]
    baseline = write_run(tmp_path / "baseline", algorithm="toxicity", dataset="prompts", records=30)
    lines = [
        json.dumps({"model_output": CLEAN, "scores": [{"name": "profanity", "value": clean}], "row": i})
        for i in range(30)
    ]
    (baseline / "records" / "toxicity_prompts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"window_hours: 24\nlatency_p95_s: 1.0\nerror_rate: 0.05\nmax_toxicity: 0.2\n"
        f"baselines: {{qa: baseline, calm: baseline}}\nwebhook: {webhook}\n",
        encoding="utf-8",
    )
    return rules


def test_rules_fire_on_slos_toxicity_and_drift(
    tmp_path: Path, webhook: tuple[str, list[dict[str, object]]]
) -> None:
    from fmops.store import open_database

    url = _store(tmp_path)
    health = {h.model: h for h in check(open_database(url), load_rules(_rules(tmp_path, webhook[0])))}
    assert set(health) == {"qa", "calm"}  # "gone" is outside the window
    qa, calm = health["qa"], health["calm"]
    assert (qa.requests, qa.errors, qa.scored, qa.guardrail_interventions) == (20, 2, 20, 1)
    assert qa.latency_p95_s == pytest.approx(3.0) and calm.latency_p95_s == pytest.approx(0.1)
    assert qa.toxicity is not None and calm.toxicity is not None and qa.toxicity > 0.2 > calm.toxicity
    assert qa.drift_p_value is not None and qa.drift_p_value < 0.05
    assert [a.split(":")[1].split()[0:2] for a in qa.alerts] == [
        ["latency", "p95"],
        ["error", "rate"],
        ["mean", "profanity"],
        ["profanity", "drifted"],
    ]
    assert calm.alerts == []


def test_alerts_reach_the_webhook_from_the_page(
    tmp_path: Path, webhook: tuple[str, list[dict[str, object]]]
) -> None:
    url = _store(tmp_path)
    write_run(tmp_path / "runs" / "a", records=3)
    settings = WebSettings(
        runs=[tmp_path / "runs"],
        auth=True,
        admin_key=ADMIN,
        store_url=url,
        index_path=tmp_path / "index.sqlite",
        monitor=_rules(tmp_path, webhook[0]),
    )
    client = TestClient(create_app(settings))
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"key": ADMIN, "csrf": token})
    page = client.get("/monitoring").text
    assert "drifted from its evaluation baseline" in page and webhook[0] not in page
    sent = client.post("/monitoring/alert", data={"csrf": token})
    assert sent.status_code == 200 and "4 alerts sent" in sent.text
    [payload] = webhook[1]
    assert len(payload["alerts"]) == 4 and [m["model"] for m in payload["models"]] == ["qa"]  # type: ignore[index,union-attr]


def test_bad_rules_and_the_permutation_test(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("error_rate: 3\n", encoding="utf-8")
    with pytest.raises(
        BadInputError, match=r"rules.yaml: error_rate: Input should be less than or equal to 1"
    ):
        load_rules(rules)
    rules.write_text("latency: 1\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="latency: Extra inputs are not permitted"):
        load_rules(rules)
    assert permutation_p_value([0.5] * 10, [0.5] * 10) == 1.0
    assert permutation_p_value([1.0] * 10, [0.0] * 10) < 0.01
