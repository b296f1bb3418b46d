"""Human review pages: queues (each reviewer sees only their own items), answering, agreement."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from fmops.core.errors import BadInputError
from fmops.web import _review as review
from fmops.web._app import console_of, render
from fmops.web._auth import Identity
from fmops.web._settings import Console

router = APIRouter()


def _who(request: Request) -> Identity:
    return request.state.identity  # type: ignore[no-any-return]


@router.get("/review")
def review_home(request: Request, created_key: str = "") -> Response:
    identity = _who(request)
    context: dict[str, object] = {"queues": [], "reviewers": [], "runs": [], "message": ""}
    if identity.role == "viewer":
        return render(request, "review.html", context)
    console = console_of(request)
    engine = console.engine()
    if identity.is_admin:
        context["queues"] = review.queues(engine)
        context["reviewers"] = review.reviewers(engine)
        context["runs"] = console.index.runs(kind="run", limit=500)[0]
    else:
        context["queues"] = review.queues(engine, identity.name)
    return render(request, "review.html", context)


@router.post("/review/reviewers")
def add_reviewer(request: Request, name: str = Form("")) -> Response:
    identity = _who(request)
    if not identity.is_admin:
        return Response("only the admin adds reviewers", status_code=403)
    console = console_of(request)
    try:
        key = review.add_reviewer(console.engine(), name)
    except BadInputError as exc:
        return _review_error(request, str(exc))
    # The key is shown this once (only its hash is stored); the reviewer signs in with it.
    context = {
        "queues": review.queues(console.engine()),
        "reviewers": review.reviewers(console.engine()),
        "runs": console.index.runs(kind="run", limit=500)[0],
        "new_key": {"name": name.strip(), "key": key},
        "message": "",
    }
    return render(request, "review.html", context)


def _review_error(request: Request, message: str) -> Response:
    console = console_of(request)
    context = {
        "queues": review.queues(console.engine()),
        "reviewers": review.reviewers(console.engine()),
        "runs": console.index.runs(kind="run", limit=500)[0],
        "message": message,
    }
    return render(request, "review.html", context, status_code=400)


@router.post("/review/queues")
async def create_queue(request: Request) -> Response:
    identity = _who(request)
    if not identity.is_admin:
        return Response("only the admin builds queues", status_code=403)
    form = await request.form()
    console = console_of(request)
    traffic = form.get("source") == "traffic"
    try:
        spec = review.QueueSpec(
            name=str(form.get("name") or ""),
            kind=str(form.get("kind") or "pointwise"),  # type: ignore[arg-type]
            run_id=int(str(form.get("run_id") or 0)),
            run_id_b=int(str(form.get("run_id_b"))) if form.get("run_id_b") else None,
            # A traffic queue's run and dataset are the snapshot it writes.
            dataset=review.TRAFFIC_DATASET if traffic else str(form.get("dataset") or ""),
            reviewers=[str(v) for v in form.getlist("reviewers")],
            size=int(str(form.get("size") or 20)),
            seed=int(str(form.get("seed") or 0)),
            scale_min=int(str(form.get("scale_min") or 1)),
            scale_max=int(str(form.get("scale_max") or 5)),
            rubric=str(form.get("rubric") or ""),
            judge_score=str(form.get("judge_score") or "") or None,
        )
        if traffic:
            sample = review.TrafficSample(
                model=str(form.get("model") or "").strip(),
                size=spec.size,
                seed=spec.seed,
                window_hours=float(str(form.get("window_hours") or 168)),
            )
            root = console.settings.resolved_traffic_dir()
            queue_id = await run_in_threadpool(
                review.create_traffic_queue,
                console.engine(),
                console.index,
                spec,
                sample,
                root,
                identity.name,
            )
        else:
            queue_id = review.create_queue(console.engine(), console.index, spec, identity.name)
    except ValidationError as exc:
        first = exc.errors()[0]
        return _review_error(request, f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    except (BadInputError, ValueError, KeyError) as exc:
        return _review_error(request, str(exc).strip("'"))
    return RedirectResponse(f"/review/queues/{queue_id}", status_code=303)


@router.get("/review/queues/{queue_id}")
def queue_page(request: Request, queue_id: int) -> Response:
    identity = _who(request)
    if identity.role == "viewer":
        return render(request, "error.html", {"message": "sign in to review"}, 401)
    console = console_of(request)
    engine = console.engine()
    try:
        queue = review.queue(engine, queue_id)
    except KeyError:
        return render(request, "error.html", {"message": f"no review queue {queue_id}"}, 404)
    mine = review.items(engine, queue_id, identity.name)
    if not mine and not identity.is_admin:
        # Another reviewer's queue does not exist for this one.
        return render(request, "error.html", {"message": f"no review queue {queue_id}"}, 404)
    cards = [_card(console, queue, item) for item in mine]
    summary = review.summarize(engine, console.index, queue_id) if identity.is_admin else None
    run = console.index.run_by_path(queue.run_path) if identity.is_admin else None
    context = {"queue": queue, "cards": cards, "summary": summary, "run": run}
    return render(request, "queue.html", context)


def _card(console: Console, queue: review.ReviewQueue, item: review.ReviewItem) -> dict[str, object]:
    """What a reviewer sees of one item: the input, and one answer (pointwise) or two in the drawn order."""
    index = console.index
    run_a = index.run_by_path(queue.run_path)
    found_a = index.record_by_row(run_a.id, queue.dataset, item.row) if run_a else None
    record_a = found_a[0] if found_a else None
    card: dict[str, object] = {"item": item, "input": record_a.input if record_a else "", "answers": []}
    if queue.kind == "pointwise":
        card["answers"] = [record_a.output if record_a else ""]
        return card
    run_b = index.run_by_path(queue.run_path_b or "")
    found_b = index.record_by_row(run_b.id, queue.dataset, item.row) if run_b else None
    outputs = [record_a.output if record_a else "", found_b[0].output if found_b else ""]
    card["answers"] = outputs[::-1] if item.b_first else outputs
    return card


@router.post("/review/items/{item_id}")
def answer_item(
    request: Request,
    item_id: int,
    rating: str = Form(""),
    choice: str = Form(""),
    comment: str = Form(""),
) -> Response:
    identity = _who(request)
    console = console_of(request)
    try:
        item = review.answer(
            console.engine(),
            item_id,
            identity.name,
            rating=int(rating) if rating.strip().lstrip("-").isdigit() else None,
            choice=choice or None,
            comment=comment,
        )
    except KeyError:
        return Response("no such item", status_code=404)
    except BadInputError as exc:
        return Response(str(exc), status_code=400)
    queue = review.queue(console.engine(), item.queue_id)
    return render(request, "_review_item.html", {"card": _card(console, queue, item), "queue": queue})
