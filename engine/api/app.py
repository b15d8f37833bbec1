"""The FastAPI application: ``create_app(store)``.

Every route under /api/v1 except sign-in names the action it needs
(``engine.permissions``); the app refuses to start if one does not, and the
OpenAPI document shows each as ``x-permission``. Errors are one JSON message,
``{"detail": "..."}``: engine errors 400 (404 for something the catalog
does not hold, 422 for a name that is not valid), validation errors 422,
and an unexpected error 500 without its traceback (which goes to the log).
The web dashboard (``dashboard``) is served beside the API at /dashboard/.
"""

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import EnmsError, InvalidName, NotFound
from . import (access, alerts, assistant, baselines, catalog, charts, dashboard, data, health,
               reports)
from .auth import FailureLimit, load_secret, token_ttl_s
from .common import PATTERN_WORDS, EngineJSON

PREFIX = "/api/v1"
PUBLIC = {f"{PREFIX}/auth/token"}
MAX_JSON_BYTES = 1024 * 1024
log = logging.getLogger("enms.api")


def _error(status: int, detail: str, headers=None, **extra) -> EngineJSON:
    return EngineJSON({"detail": detail, **extra}, status_code=status, headers=headers)


def _engine_error(request: Request, exc: EnmsError) -> EngineJSON:
    status = 404 if isinstance(exc, NotFound) else 422 if isinstance(exc, InvalidName) else 400
    extra = {"code": exc.code} if exc.code else {}
    return _error(status, str(exc), **extra)


def _where(loc) -> str:
    return ".".join(str(part) for part in loc) or "request"


def _message(error: dict) -> str:
    """Pydantic's message, with what a name may hold instead of a regular expression."""
    if error.get("type") == "json_invalid":
        return "not valid JSON"
    pattern = (error.get("ctx") or {}).get("pattern")
    if error.get("type") == "string_pattern_mismatch" and pattern in PATTERN_WORDS:
        return f"{str(error.get('input'))[:60]!r} is not a valid name: {PATTERN_WORDS[pattern]}"
    return error.get("msg", "invalid")


def _validation_error(request: Request, exc: RequestValidationError) -> EngineJSON:
    errors = [{"loc": [part for part in e.get("loc", ())
                       if e.get("type") != "json_invalid" or part == "body"],
               "msg": _message(e)} for e in exc.errors()]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return _error(422, f"{_where(first['loc'])}: {first['msg']}{more}", errors=errors)


def _http_error(request: Request, exc: StarletteHTTPException) -> EngineJSON:
    return _error(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))


def _unexpected(request: Request, exc: Exception) -> EngineJSON:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return _error(500, f"internal error ({type(exc).__name__}); the server log has the details")


class BodyLimit:
    """Refuse a request body larger than its limit before it is read (413), and
    a chunked body without a declared length (411): uploads may be the app's
    ``upload_limits[0]`` bytes, anything else ``MAX_JSON_BYTES``. The server
    holds a client to the length it declared."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = dict(scope["headers"])
            upload = scope["path"].startswith(f"{PREFIX}/import/")
            limit = scope["app"].state.upload_limits[0] if upload else MAX_JSON_BYTES
            length = headers.get(b"content-length")
            if length is None:
                # No length and no chunked body: no body at all.
                refusal = _error(411, "a request body needs a Content-Length header") \
                    if b"transfer-encoding" in headers else None
            elif not length.isdigit():
                refusal = _error(400, "the Content-Length header is not a number")
            elif int(length) > limit:
                refusal = _error(413, f"the request body ({int(length):,} bytes) is larger than "
                                 f"{limit:,} bytes" + (" (ENMS_API_MAX_UPLOAD_MB)" if upload else ""))
            else:
                refusal = None
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _name_permissions(router) -> None:
    """Put each route's action into the OpenAPI document; refuse an unguarded route."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        actions = [d.call.action for d in route.dependant.dependencies
                   if hasattr(d.call, "action")]
        if PREFIX + route.path in PUBLIC:
            continue
        if len(actions) != 1:
            raise RuntimeError(f"{route.path}: a route needs exactly one permission, "
                               f"found {actions}")
        route.openapi_extra = {**(route.openapi_extra or {}), "x-permission": actions[0]}


def create_app(store, *, jwt_secret: str | None = None, sign_in_limit: FailureLimit | None = None,
               token_ttl: int | None = None) -> FastAPI:
    """The HTTP API on ``store``. The secret defaults to ENMS_JWT_SECRET or the
    data directory's; limits come from the environment (docs/api.md)."""

    @asynccontextmanager
    async def lifespan(app):
        yield
        app.state.voice.close()

    app = FastAPIOffline(title="EnMS API", version="1",
                         description="The energy management system over HTTP: catalog, imports, "
                         "baselines, reports, CUSUM, data quality, savings, alerts, briefing and the "
                         "voice assistant. Sign in at POST /api/v1/auth/token; roles: "
                         "docs/permissions.md.",
                         openapi_url=f"{PREFIX}/openapi.json", docs_url=f"{PREFIX}/docs",
                         swagger_ui_oauth2_redirect_url=f"{PREFIX}/docs/oauth2-redirect",
                         static_url=f"{PREFIX}/docs/static", redoc_url=None, lifespan=lifespan)
    app.state.store = store
    app.state.jwt_secret = jwt_secret or load_secret()
    app.state.token_ttl_s = token_ttl or token_ttl_s()
    app.state.sign_in_limit = sign_in_limit or FailureLimit()
    app.state.upload_limits = data.upload_limits()
    app.state.voice = assistant.Voice(store.url)
    for module in (access, catalog, data, baselines, reports, charts, alerts, assistant,
                   health):
        _name_permissions(module.router)
        app.include_router(module.router, prefix=PREFIX)
    app.add_exception_handler(EnmsError, _engine_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(BodyLimit)
    dashboard.mount(app)
    return app
