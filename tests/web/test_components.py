"""Pages of the other components, filled through their own APIs: experiments (loss curves), the registry
(alias promotion by clicking), pipeline runs, and gateway usage (a team sees only its own)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fmops.web import WebSettings, create_app
from tests.web._browser import charts_drawn, launch, screenshot, watch
from tests.web._folders import write_run
from tests.web.conftest import ADMIN_KEY, LiveConsole, start_console


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A store with an experiment, a registered model with two versions, and two teams' gateway traffic."""
    root = tmp_path_factory.mktemp("components")
    url = f"sqlite:///{root / 'fmops.sqlite'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FMOPS_HOME", str(root / "home"))
        yield _fill(root, url)


def _fill(root: Path, url: str) -> dict[str, Any]:
    from fmops.customization._experiments import ExperimentRecorder
    from fmops.gateway import LedgerRow, Tenancy, insert_rows
    from fmops.registry import model_registry, register_model
    from fmops.store import open_database

    recorder = ExperimentRecorder(url)
    run_id = recorder.start(
        run_id=None,
        name="tiny-lora",
        base="zoo/tiny",
        method="lora",
        params={"lr": 0.001},
        data_files=[{"path": "train.jsonl"}],
        base_fingerprint="f" * 8,
        hardware={"cpu": 2},
        versions={},
        model_spec="finetuned/tiny-lora",
    )
    recorder.metrics(
        run_id, {step: {"train_loss": 3.0 / step, "eval_f1": 0.1 * step} for step in range(1, 6)}
    )
    recorder.finish(run_id, "completed", final_metrics={"train_loss": 0.6}, duration_s=4.2)

    register_model("qa", "zoo/tiny", lineage={"base_model": "zoo/base"}, url=url)
    register_model(
        "qa", "finetuned/tiny-lora", lineage={"base_model": "zoo/tiny", "experiment_run": run_id}, url=url
    )
    model_registry(url).approve("qa", 2, reason="beats v1 on f1")

    engine = open_database(url)
    tenancy = Tenancy(engine)
    keys = {}
    for team in ("red", "blue"):
        tenancy.create_team(team, budget_usd=10.0)
        keys[team] = tenancy.create_key(team).key
    now = datetime.now(UTC)
    rows = []
    for i, team in enumerate(["red"] * 3 + ["blue"] * 2):
        context = tenancy.key_context(keys[team].split("_")[1])
        assert context is not None
        rows.append(
            LedgerRow(
                request_id=f"r{i}",
                received_at=now - timedelta(minutes=i),
                done_at=now,
                team_id=context.team_id,
                key_id=context.key_id,
                org_id=context.org_id,
                model=f"model-{team}",
                endpoint="chat",
                input_tokens=10,
                output_tokens=5,
                cost=0.01 * (i + 1),
                status=200 if i else 500,
            )
        )
    insert_rows(engine, rows)
    runs = root / "runs"
    write_run(runs / "a", records=5)
    return {"url": url, "runs": runs, "keys": keys, "experiment": run_id, "home": root / "home"}


def _client(state: dict[str, Any], key: str) -> TestClient:
    settings = WebSettings(
        runs=[state["runs"]],
        auth=True,
        admin_key=ADMIN_KEY,
        store_url=state["url"],
        index_path=state["runs"].parent / "index.sqlite",
    )
    client = TestClient(create_app(settings))
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    assert client.post("/login", data={"key": key, "csrf": token}, follow_redirects=False).status_code == 303
    return client


def test_a_team_sees_only_its_own_usage(state: dict[str, Any]) -> None:
    red = _client(state, state["keys"]["red"])
    page = red.get("/usage").text
    assert "model-red" in page and "model-blue" not in page and "blue" not in page.split("<main>")[1]
    assert state["keys"]["red"] not in page
    admin = _client(state, ADMIN_KEY).get("/usage").text
    assert "model-red" in admin and "model-blue" in admin
    # Latency percentiles per model from the ledger: red took 0, 60 and 120 s, blue 180 and 240 s.
    latency = admin.split('id="latency"')[1].split("</table>")[0]
    assert '<td>model-red</td><td class="num">60.000</td><td class="num">114.000</td>' in latency
    assert '<td>model-blue</td><td class="num">210.000</td><td class="num">237.000</td>' in latency
    assert "model-blue" not in page.split('id="latency"')[1].split("</table>")[0]
    revoked = state["keys"]["blue"][:-3] + "xyz"  # a wrong secret is no key
    settings_client = TestClient(
        create_app(
            WebSettings(
                runs=[state["runs"]],
                auth=True,
                admin_key=ADMIN_KEY,
                store_url=state["url"],
                index_path=state["runs"].parent / "index.sqlite",
            )
        )
    )
    token = re.search(r'name="csrf-token" content="([^"]+)"', settings_client.get("/login").text).group(1)  # type: ignore[union-attr]
    assert settings_client.post("/login", data={"key": revoked, "csrf": token}).status_code == 401
    assert (
        red.post(
            "/registry/promote", data={"name": "qa", "version": "1", "alias": "x", "csrf": token}
        ).status_code
        == 403
    )


@pytest.fixture(scope="module")
def console(state: dict[str, Any]) -> Iterator[LiveConsole]:
    rules = state["runs"].parent / "rules.yaml"
    rules.write_text(
        "latency_p95_s: 1.0\nerror_rate: 0.1\njudge: echo/judge\njudge_args: ['prefix=Score: 5. ']\n"
        "interval_s: 3600\n",
        encoding="utf-8",
    )
    settings = WebSettings(
        monitor=rules,
        runs=[state["runs"]],
        auth=True,
        admin_key=ADMIN_KEY,
        store_url=state["url"],
        index_path=state["runs"].parent / "index-live.sqlite",
    )
    yield from start_console(settings)


def test_component_pages_in_the_browser(console: LiveConsole, state: dict[str, Any], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            watched = watch(browser.new_context(viewport={"width": 1280, "height": 900}))
            page = watched.page
            page.goto(f"{console.url}/login")
            page.fill("input[name=key]", ADMIN_KEY)
            page.click("#sign-in")
            page.wait_for_url(f"{console.url}/")

            page.click("header >> text=Experiments")
            page.click(f"#experiments >> text={state['experiment'][:12]}")
            assert set(charts_drawn(page)) == {"chart-loss", "chart-eval"}
            screenshot(page, tmp_path, "08-experiment")

            page.click("header >> text=Registry")
            assert set(charts_drawn(page)) == {"chart-lineage"}
            row = page.locator("#versions tbody tr", has_text="finetuned/tiny-lora")
            row.locator("input[name=alias]").fill("production")
            row.locator("input[name=reason]").fill("approved in review")
            row.locator("button").click()
            page.wait_for_selector("#alias-history >> text=approved in review")
            assert (
                "production"
                in page.locator("#versions tbody tr", has_text="finetuned/tiny-lora").text_content()
            )
            screenshot(page, tmp_path, "09-registry")

            page.click("header >> text=Usage")
            assert set(charts_drawn(page)) == {"chart-cost"}
            assert page.locator("#usage tbody tr").count() == 2
            assert page.locator("#latency tbody tr").count() == 2  # p50 and p95 per model
            screenshot(page, tmp_path, "10-usage")

            # A pipeline run (in this test's FMOPS_HOME, where the console looks): a gate on 5 records is
            # inconclusive.
            from fmops.pipelines import load_pipeline, run_pipeline

            spec = tmp_path / "gate.yaml"
            run = state["runs"] / "a"
            spec.write_text(
                "name: gate\nsteps:\n  - id: gate\n    type: condition\n"
                f"    with: {{candidate: {run}, baseline: {run}, rules: [{{metric: f1_score}}]}}\n",
                encoding="utf-8",
            )
            run_pipeline(load_pipeline(spec))
            page.click("header >> text=Pipelines")
            assert (
                page.locator(".pipeline-run .steps tbody tr td:nth-child(4)").text_content() == "inconclusive"
            )
            screenshot(page, tmp_path, "11-pipelines")
            page.click("header >> text=Monitoring")
            assert page.locator("#health tbody tr").count() == 2
            assert "error rate 33.3% > SLO 10.0%" in page.locator("#alerts").text_content()
            assert "judge score" in page.locator("#health thead").text_content()
            page.wait_for_selector("#schedule")  # the console's own check ran at start (no webhook set)
            assert "every 3600 s" in page.locator("#schedule").text_content()
            screenshot(page, tmp_path, "12-monitoring")
            assert watched.problems() == [], watched.problems()
        finally:
            browser.close()
    from fmops.registry import model_registry

    assert model_registry(state["url"]).get("qa", "production").version == 2
