"""schemathesis over the gateway's OpenAPI spec: no generated request gets a 500 (bounded examples)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis")


def test_openapi_spec_fuzzed_without_a_500(gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMOPS_ADMIN_KEY", "fuzz-admin")
    with gateway() as gw:
        key = gw.key(models=["chat"])
        app = gw.server._server.config.app
        schema = schemathesis.openapi.from_dict(app.openapi())
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.path for op in operations} >= {"/v1/chat/completions", "/v1/completions", "/admin/keys"}
        seen: dict[int, int] = {}
        for op in operations:
            admin = op.path.startswith("/admin")
            fuzz(op, gw.server.root, {"authorization": f"Bearer {'fuzz-admin' if admin else key}"}, seen)
    assert 200 in seen and 400 in seen


def fuzz(op, root: str, headers: dict[str, str], seen: dict[int, int]) -> None:
    @settings(
        max_examples=12,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy())
    def check(case) -> None:
        response = case.call(base_url=root, headers=headers)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code < 500, (case.method, case.path, case.body, response.text[:300])

    check()
