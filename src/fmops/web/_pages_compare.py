"""Comparisons: the list, the matrix with intervals and noise verdicts, radar and Pareto charts, the
selection and its reasons, and two or more models' answers to the same record side by side."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fmops.core.errors import BadInputError
from fmops.web import _comparisons as comparisons
from fmops.web._app import console_of, render

router = APIRouter()


@router.get("/comparisons")
def comparisons_list(request: Request) -> Response:
    console = console_of(request)
    console.maybe_rescan(time.monotonic())
    found, total = console.index.runs(kind="comparison", limit=500)
    return render(request, "comparisons.html", {"comparisons": found, "total": total})


@router.get("/comparisons/{run_id}")
def comparison_page(request: Request, run_id: int, evaluation: str = "", row: int | None = None) -> Response:
    try:
        entry = console_of(request).index.run(run_id)
    except KeyError:
        return render(request, "error.html", {"message": f"no comparison {run_id}"}, 404)
    try:
        data = comparisons.load(Path(entry.path))
    except BadInputError as exc:
        return render(request, "error.html", {"message": str(exc)}, 422)
    evaluation = evaluation or (data.evaluations[0] if data.evaluations else "")
    rows = comparisons.rows_of(data, evaluation)
    chosen = row if row in rows else (rows[0] if rows else None)
    side = comparisons.side_by_side(data, evaluation, chosen) if chosen is not None else None
    context = {
        "entry": entry,
        "data": data,
        "matrix": comparisons.matrix(data),
        "charts": comparisons.charts(data),
        "selection": data.selection,
        "evaluation": evaluation,
        "rows": rows,
        "row": chosen,
        "side": side,
    }
    if request.headers.get("hx-target") == "side-by-side":
        return render(request, "_side_by_side.html", context)
    return render(request, "comparison.html", context)
