"""Access rules over HTTP: read-only without a key, sign-in with --auth, CSRF on every POST, reviewers see
only their own queues, no secret in any page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fmops.core.errors import BadInputError
from fmops.web import WebSettings, create_app
from tests.web._folders import write_run

ADMIN = "the-admin-key-0123456789"


def _settings(tmp_path: Path, **overrides: object) -> WebSettings:
    runs = tmp_path / "runs"
    if not runs.exists():
        write_run(runs / "a", model="echo/a", records=8)
        write_run(runs / "b", model="echo/b", records=8)
    values: dict[str, object] = {
        "runs": [runs],
        "index_path": tmp_path / "index.sqlite",
        "store_url": f"sqlite:///{tmp_path / 'fmops.sqlite'}",
        **overrides,
    }
    return WebSettings.model_validate(values)


def _csrf(client: TestClient, url: str = "/") -> str:
    page = client.get(url)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert match, page.text[:300]
    return match.group(1)


def test_read_only_without_a_key(tmp_path: Path) -> None:
    client = TestClient(create_app(_settings(tmp_path)))
    assert client.get("/").status_code == 200
    assert client.get("/runs/1/records?q=question&sort=f1_score&order=desc").status_code == 200
    token = _csrf(client)
    refused = client.post("/review/reviewers", data={"name": "eve", "csrf": token})
    assert refused.status_code == 403 and "read-only" in refused.text
    assert client.post("/login", data={"key": ADMIN, "csrf": token}).status_code == 401  # no --auth: no keys


def test_listening_beyond_loopback_needs_auth(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="only listens on loopback"):
        create_app(_settings(tmp_path, host="0.0.0.0"))
    with pytest.raises(BadInputError, match="FMOPS_ADMIN_KEY"):
        create_app(_settings(tmp_path, auth=True))
    with pytest.raises(BadInputError, match="no such folder"):
        create_app(_settings(tmp_path, runs=[tmp_path / "missing"]))


def test_sign_in_csrf_and_reviewer_isolation(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, auth=True, admin_key=ADMIN))
    admin = TestClient(app)
    first = admin.get("/", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/login")
    token = _csrf(admin, "/login")
    assert admin.post("/login", data={"key": "wrong", "csrf": token}).status_code == 401
    assert admin.post("/login", data={"key": ADMIN}).status_code == 403  # no CSRF token: refused
    assert admin.post("/login", data={"key": ADMIN, "csrf": token}, follow_redirects=False).status_code == 303
    assert admin.post("/review/reviewers", data={"name": "ann", "csrf": "forged"}).status_code == 403
    keys = {}
    for name in ("ann", "ben"):
        page = admin.post("/review/reviewers", data={"name": name, "csrf": token})
        keys[name] = re.search(r'class="key">([^<]+)<', page.text).group(1)  # type: ignore[union-attr]
    queues = {}
    for name in ("ann", "ben"):
        made = admin.post(
            "/review/queues",
            data={
                "name": f"q-{name}",
                "run_id": "1",
                "dataset": "capitals",
                "reviewers": name,
                "size": "3",
                "csrf": token,
            },
            follow_redirects=False,
        )
        assert made.status_code == 303, made.text
        queues[name] = made.headers["location"]
    pages = [admin.get(u).text for u in ("/", "/runs/1", "/review", queues["ann"], "/comparisons")]
    assert not any(ADMIN in p or keys["ann"] in p for p in pages)  # keys are never rendered again

    ann = TestClient(app)
    ann_token = _csrf(ann, "/login")
    ann.post("/login", data={"key": keys["ann"], "csrf": ann_token})
    assert "q-ann" in ann.get("/review").text and "q-ben" not in ann.get("/review").text
    assert ann.get(queues["ben"]).status_code == 404  # another reviewer's queue does not exist for ann
    own = ann.get(queues["ann"]).text
    item_id = re.search(r'hx-post="/review/items/(\d+)"', own).group(1)  # type: ignore[union-attr]
    assert (
        ann.post(
            f"/review/items/{item_id}", data={"rating": "4"}, headers={"X-CSRF-Token": ann_token}
        ).status_code
        == 200
    )
    assert (
        ann.post("/review/reviewers", data={"name": "x", "csrf": ann_token}).status_code == 403
    )  # not admin
    ben_items = re.findall(r'hx-post="/review/items/(\d+)"', admin.get(queues["ben"]).text)
    assert ben_items == []  # the admin sees agreement, not ben's items
    ben = TestClient(app)
    ben_token = _csrf(ben, "/login")
    ben.post("/login", data={"key": keys["ben"], "csrf": ben_token})
    ben_item = re.search(r'hx-post="/review/items/(\d+)"', ben.get(queues["ben"]).text).group(1)  # type: ignore[union-attr]
    assert (
        ann.post(
            f"/review/items/{ben_item}", data={"rating": "4"}, headers={"X-CSRF-Token": ann_token}
        ).status_code
        == 404
    )
    ann.post("/logout", data={"csrf": ann_token})
    assert ann.get("/review", follow_redirects=False).status_code == 303  # signed out


def test_security_headers_and_local_assets(tmp_path: Path) -> None:
    client = TestClient(create_app(_settings(tmp_path)))
    page = client.get("/runs/1")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert scripts and all(s.startswith("/static/") for s in scripts)
    for src in scripts:
        assert client.get(src).status_code == 200
    assert client.get("/static/../_app.py").status_code == 404
