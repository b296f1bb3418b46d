"""The FastAPI application: static assets served from the package, sign-in, CSRF on every POST, and the
pages (one router per area)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from fmops.web._auth import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    VIEWER,
    Identity,
    Sessions,
    admin_resolver,
    csrf_ok,
    gateway_team_resolver,
    new_csrf_token,
)
from fmops.web._index import RunIndex
from fmops.web._schedule import AlertSchedule
from fmops.web._settings import PACKAGE, Console, WebSettings, script_json

#: Everything is served from this origin; plotly needs inline styles, nothing needs inline scripts.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
_OPEN_PATHS = ("/login", "/static/", "/healthz")
_STATIC = {
    "htmx.min.js": "text/javascript",
    "console.js": "text/javascript",
    "console.css": "text/css",
}


def create_app(
    settings: WebSettings,
    *,
    index: RunIndex | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FastAPI:
    """The console for `settings` (its run folders indexed now, reporting to `progress`; the store opened
    on first use)."""
    settings.check()
    # Snapshots of sampled gateway traffic (review queues) are run folders too.
    index = index or RunIndex(
        settings.resolved_index_path(), [*settings.runs, settings.resolved_traffic_dir()]
    )
    index.refresh(progress)
    templates = Jinja2Templates(directory=str(PACKAGE / "templates"))
    templates.env.filters["script_json"] = script_json
    resolvers = []
    if settings.auth and settings.admin_key is not None:
        resolvers.append(admin_resolver(settings.admin_key.get_secret_value()))
    console = Console(settings, index, Sessions(), templates, resolvers, _last_scan=time.monotonic())
    if settings.auth:
        team = gateway_team_resolver(console.engine)
        if team is not None:
            resolvers.append(team)

    console.schedule = _schedule(console)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(console.schedule.run()) if console.schedule is not None else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    app = FastAPI(title="fmops console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.console = console

    @app.middleware("http")
    async def guard(request: Request, call_next):  # type: ignore[no-untyped-def]
        identity = _identity(console, request)
        request.state.identity = identity
        path = request.url.path
        open_path = path.startswith(_OPEN_PATHS)
        if settings.auth and identity.role == "viewer" and not open_path:
            if request.method == "GET":
                return RedirectResponse(f"/login?next={path}", status_code=303)
            return Response("sign in first", status_code=401)
        csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        request.state.csrf = csrf
        if request.method == "POST":
            submitted = request.headers.get(CSRF_HEADER)
            if submitted is None and request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                # The body is cached by Starlette, so the endpoint still reads its form.
                fields = parse_qs((await request.body()).decode("utf-8", "replace"))
                submitted = (fields.get(CSRF_FIELD) or [None])[0]
            if not csrf_ok(request.cookies.get(CSRF_COOKIE), submitted):
                return Response("CSRF check failed: reload the page and try again", status_code=403)
            if not identity.can_act and path != "/login":
                return Response("read-only: start `fmops web --auth` and sign in to act", status_code=403)
        response = await call_next(request)
        if CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict")
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name == "plotly.min.js":
            return FileResponse(_plotly_path(), media_type="text/javascript")
        if name not in _STATIC:
            return Response("not found", status_code=404)
        return FileResponse(PACKAGE / "static" / name, media_type=_STATIC[name])

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> Response:
        return render(request, "login.html", {"next": _safe_next(next), "failed": False})

    @app.post("/login", response_class=HTMLResponse)
    def login(request: Request, key: str = Form(""), next: str = Form("/")) -> Response:
        identity = _resolve(console, key.strip())
        if identity is None:
            return render(request, "login.html", {"next": _safe_next(next), "failed": True}, status_code=401)
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(SESSION_COOKIE, console.sessions.open(identity), httponly=True, samesite="strict")
        return response

    @app.post("/logout")
    def logout(request: Request) -> Response:
        console.sessions.close(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login" if settings.auth else "/", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    from fmops.web._pages_compare import router as compare_router
    from fmops.web._pages_extra import router as extra_router
    from fmops.web._pages_review import router as review_router
    from fmops.web._pages_runs import router as runs_router

    app.include_router(runs_router)
    app.include_router(compare_router)
    app.include_router(review_router)
    app.include_router(extra_router)
    return app


def _schedule(console: Console) -> AlertSchedule | None:
    """The monitoring loop when the rules file asks for one (`interval_s`); the rules are checked now, so a
    mistake in them stops the start with a one-line error."""
    if console.settings.monitor is None:
        return None
    from fmops.web._monitor import ModelHealth, MonitorRules, check, load_rules

    path = console.settings.monitor
    rules = load_rules(path)
    if rules.interval_s is None:
        return None

    def run_check() -> tuple[MonitorRules, list[ModelHealth]]:
        current = load_rules(path)
        return current, check(console.engine(), current)

    return AlertSchedule(run_check, interval_s=rules.interval_s)


def render(request: Request, template: str, context: dict[str, object], status_code: int = 200) -> Response:
    """A page (or, for an htmx request asking for a fragment, the fragment) with the shared context."""
    console: Console = request.app.state.console
    from fmops.web._pages_extra import optional_pages

    shared = {
        "request": request,
        "identity": request.state.identity,
        "csrf": request.state.csrf,
        "auth": console.settings.auth,
        "extra_pages": optional_pages()
        + ((("Monitoring", "/monitoring"),) if console.settings.monitor is not None else ()),
    }
    return console.templates.TemplateResponse(
        request, template, {**shared, **context}, status_code=status_code
    )


def console_of(request: Request) -> Console:
    return request.app.state.console  # type: ignore[no-any-return]


def _identity(console: Console, request: Request) -> Identity:
    return console.sessions.get(request.cookies.get(SESSION_COOKIE)) or VIEWER


def _resolve(console: Console, key: str) -> Identity | None:
    if not key or not console.settings.auth:
        return None
    for resolver in console.resolvers:
        identity = resolver(key)
        if identity is not None:
            return identity
    from fmops.web._review import reviewer_for_key

    name = reviewer_for_key(console.engine(), key)
    return Identity(name=name, role="reviewer") if name else None


def _safe_next(target: str) -> str:
    # Only local paths: a sign-in link must not send anyone to another site.
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _plotly_path() -> Path:
    return Path(str(files("plotly") / "package_data" / "plotly.min.js"))
