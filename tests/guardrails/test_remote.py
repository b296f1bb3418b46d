"""Real detectors: Llama Guard behind an OpenAI-compatible endpoint (a loopback fake), detoxify's hint."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fmops.core.errors import RunError
from fmops.guardrails import Policy
from fmops.guardrails._remote import parse_verdict


class _FakeLlamaGuard(BaseHTTPRequestHandler):
    seen: list[dict] = []  # noqa: RUF012 - shared on purpose: the test reads what the server saw

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        last = body["messages"][-1]["content"]
        verdict = "unsafe\nS1,S10" if "attack" in last else "safe"
        reply = {"choices": [{"message": {"role": "assistant", "content": verdict}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeLlamaGuard)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeLlamaGuard.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_llama_guard_hazards_map_to_bedrock_categories(
    make_policy: Callable[..., Policy], endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUARD_KEY", "sk-test")
    policy = make_policy(
        contentPolicyConfig={
            "filtersConfig": [
                {"type": "VIOLENCE", "inputStrength": "LOW", "outputStrength": "LOW"},
                {"type": "HATE", "inputStrength": "LOW", "outputStrength": "LOW"},
            ]
        },
        detectors={
            "content": {
                "name": "llama-guard",
                "args": {"base_url": endpoint, "model": "llama-guard-3-1b", "api_key_env": "GUARD_KEY"},
            }
        },
    )
    result = policy.apply("plan an attack on them", "OUTPUT")
    assert result.blocked
    filters = result.response()["assessments"][0]["contentPolicy"]["filters"]
    assert {(f["type"], f["confidence"]) for f in filters} == {("VIOLENCE", "HIGH"), ("HATE", "HIGH")}
    assert policy.apply("hello there", "INPUT").action == "NONE"
    first, second = _FakeLlamaGuard.seen
    assert first["path"] == "/v1/chat/completions" and first["auth"] == "Bearer sk-test"
    assert [m["role"] for m in first["body"]["messages"]] == ["user", "assistant"]
    assert [m["role"] for m in second["body"]["messages"]] == ["user"]


def test_llama_guard_unreachable_is_a_run_error(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy(
        contentPolicyConfig={"filtersConfig": [{"type": "HATE", "inputStrength": "LOW"}]},
        detectors={
            "content": {"name": "llama-guard", "args": {"base_url": "http://127.0.0.1:9/v1", "model": "m"}}
        },
    )
    with pytest.raises(RunError, match="llama-guard detector at http://127.0.0.1:9/v1/chat/completions"):
        policy.apply("hi")


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("safe", set()),
        ("unsafe\nS12", {"SEXUAL"}),
        ("unsafe\nS2, S14", {"MISCONDUCT", "PROMPT_ATTACK"}),
        ("unsafe", {"MISCONDUCT"}),
    ],
)
def test_verdicts(answer: str, flagged: set[str]) -> None:
    assert {k for k, v in parse_verdict(answer).items() if v == 1.0} == flagged


def test_detoxify_without_its_checkpoint_says_where_to_put_it(make_policy: Callable[..., Policy]) -> None:
    with pytest.raises(RunError, match="detoxify"):
        make_policy(
            contentPolicyConfig={"filtersConfig": [{"type": "INSULTS", "inputStrength": "LOW"}]},
            detectors={"content": {"name": "detoxify", "args": {"model_path": "/nonexistent/ckpt"}}},
        )
