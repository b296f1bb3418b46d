"""Runs: the filtered list, a run's scores per dataset and category, its records and one record."""

from __future__ import annotations

import time
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from fmops.core.errors import BadInputError
from fmops.web._app import console_of, render
from fmops.web._index import RecordQuery, RunRow, read_manifest, read_outputs

router = APIRouter()
PAGE_SIZE = 50


def _fragment(request: Request) -> bool:
    """An htmx request for the table only (a full navigation gets the whole page)."""
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-target") is not None


@router.get("/")
def runs_list(
    request: Request,
    algorithm: str = "",
    dataset: str = "",
    model: str = "",
    date_from: str = "",
    date_to: str = "",
    page: int = 1,
) -> Response:
    console = console_of(request)
    console.maybe_rescan(time.monotonic())
    page = max(1, page)
    runs, total = console.index.runs(
        algorithm=algorithm,
        dataset=dataset,
        model=model,
        date_from=date_from,
        date_to=date_to,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    context = {
        "runs": runs,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "filters": {
            "algorithm": algorithm,
            "dataset": dataset,
            "model": model,
            "date_from": date_from,
            "date_to": date_to,
        },
        "filters_qs": urlencode(
            {
                k: v
                for k, v in (
                    ("algorithm", algorithm),
                    ("dataset", dataset),
                    ("model", model),
                    ("date_from", date_from),
                    ("date_to", date_to),
                )
                if v
            }
        ),
        "algorithms": console.index.algorithms(),
        "roots": [str(r) for r in console.index.roots],
    }
    return render(request, "_runs_table.html" if _fragment(request) else "runs.html", context)


@router.get("/open")
def open_folder(request: Request, path: str) -> Response:
    """The page of the run or comparison folder at `path` (as given to --runs)."""
    run = console_of(request).index.run_by_path(path)
    if run is None:
        return render(request, "error.html", {"message": f"{path}: not an indexed run folder"}, 404)
    return RedirectResponse(_run_url(run), status_code=303)


def _run_url(run: RunRow) -> str:
    return f"/comparisons/{run.id}" if run.kind == "comparison" else f"/runs/{run.id}"


def _get_run(request: Request, run_id: int) -> RunRow | None:
    try:
        return console_of(request).index.run(run_id)
    except KeyError:
        return None


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: int) -> Response:
    run = _get_run(request, run_id)
    if run is None:
        return render(request, "error.html", {"message": f"no run {run_id}"}, 404)
    if run.kind == "comparison":
        return RedirectResponse(_run_url(run), status_code=303)
    folder = Path(run.path)
    try:
        outputs = read_outputs(folder)
    except BadInputError as exc:
        return render(request, "error.html", {"message": str(exc)}, 422)
    manifest = read_manifest(folder)
    charts = [c for i, o in enumerate(outputs) if (c := _category_chart(o, f"chart-cat-{i}"))]
    context = {
        "run": run,
        "outputs": outputs,
        "charts": charts,
        "model": manifest.model if manifest is not None and manifest.model is not None else {},
        "config": manifest.config if manifest is not None else {},
        "datasets": manifest.datasets if manifest is not None else [],
        "robustness": "robustness" in run.algorithm,
    }
    return render(request, "run.html", context)


def _category_chart(output: Any, chart_id: str) -> dict[str, Any] | None:
    """Grouped bars: each category's value of the dataset's first three scores."""
    categories = output.category_scores or []
    if not categories:
        return None
    names = [s.name for s in output.dataset_scores or []][:3]
    traces = []
    for name in names:
        ys = [next((s.value for s in c.scores if s.name == name), None) for c in categories]
        # Plotly reads a few HTML tags in labels: escaped, user text stays text.
        traces.append(
            {"type": "bar", "name": escape(name), "x": [escape(c.name) for c in categories], "y": ys}
        )
    layout = {
        "barmode": "group",
        "height": 320,
        "margin": {"t": 30, "l": 50, "r": 20, "b": 80},
        "yaxis": {"title": {"text": "score"}},
        "legend": {"orientation": "h", "y": 1.15},
    }
    title = f"{output.dataset_name}: scores by category"
    return {"id": chart_id, "title": title, "data": traces, "layout": layout}


@router.get("/runs/{run_id}/records")
def records_page(
    request: Request,
    run_id: int,
    dataset: str = "",
    q: str = "",
    score: str = "",
    min: str = "",
    max: str = "",
    errors: str = "",
    category: str = "",
    sort: str = "",
    order: str = "asc",
    page: int = 1,
) -> Response:
    run = _get_run(request, run_id)
    if run is None or run.kind != "run":
        return render(request, "error.html", {"message": f"no run {run_id}"}, 404)
    query = RecordQuery(
        dataset=dataset or None,
        search=q,
        score=score or None,
        min_value=_number(min),
        max_value=_number(max),
        errors_only=bool(errors),
        category=category or None,
        sort=sort or None,
        descending=order == "desc",
        page=page,
        page_size=PAGE_SIZE,
    )
    index = console_of(request).index
    result = index.records(run_id, query)
    context = {
        "run": run,
        "result": result,
        "query": query,
        "filters": {
            "dataset": dataset,
            "q": q,
            "score": score,
            "min": min,
            "max": max,
            "errors": errors,
            "category": category,
            "sort": sort,
            "order": order,
        },
        "filters_qs": urlencode(
            {
                k: v
                for k, v in (
                    ("dataset", dataset),
                    ("q", q),
                    ("score", score),
                    ("min", min),
                    ("max", max),
                    ("errors", errors),
                    ("category", category),
                    ("sort", sort),
                    ("order", order),
                )
                if v
            }
        ),
        "categories": index.categories(run_id, dataset or None),
        "shown_scores": run.score_names[:4],
    }
    return render(request, "_records_table.html" if _fragment(request) else "records.html", context)


def _number(text: str) -> float | None:
    try:
        return float(text) if text.strip() else None
    except ValueError:
        return None


@router.get("/runs/{run_id}/records/{record_id}")
def record_page(request: Request, run_id: int, record_id: int) -> Response:
    run = _get_run(request, run_id)
    if run is None:
        return render(request, "error.html", {"message": f"no run {run_id}"}, 404)
    try:
        row, full = console_of(request).index.record(run_id, record_id)
    except KeyError:
        return render(request, "error.html", {"message": f"no record {record_id} in run {run_id}"}, 404)
    inputs = full.get("perturbed_model_inputs") or []
    outputs = full.get("perturbed_model_outputs") or []
    perturbed = [
        (inputs[i] if i < len(inputs) else "", outputs[i] if i < len(outputs) else "")
        for i in range(max(len(inputs), len(outputs)))
    ]
    extra = {k: v for k, v in full.items() if k not in _SHOWN_FIELDS}
    return render(
        request,
        "record.html",
        {"run": run, "record": row, "full": full, "perturbed": perturbed, "extra": extra},
    )


_SHOWN_FIELDS = {
    "model_input",
    "model_output",
    "target_output",
    "scores",
    "perturbed_model_inputs",
    "perturbed_model_outputs",
    "category",
    "row",
}


@router.get("/runs/{run_id}/human")
def human_scores_fragment(request: Request, run_id: int) -> Response:
    """The run's human-review scores (loaded after the page, so a run page never waits for the store)."""
    from fmops.web._review import human_scores

    run = _get_run(request, run_id)
    if run is None:
        return Response(status_code=404)
    console = console_of(request)
    scores = human_scores(console.engine(), console.index, run.path)
    return render(request, "_human_scores.html", {"scores": scores})
