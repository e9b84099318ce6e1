"""Build the aiohttp application: middlewares (identity, errors as JSON) and the route tables."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from maied.api import routes_openai, routes_system, routes_tasks
from maied.api.access import identify
from maied.api.context import CTX, IDENTITY, ApiContext
from maied.api.views import error_response
from maied.errors import InvalidRequest, MaieError, UnsupportedMedia

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except MaieError as exc:
        return error_response(exc, request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "FILE_TOO_LARGE"}.get(exc.status, "INVALID_REQUEST")
        err = MaieError(exc.reason or "request refused", code=code)
        err.status = exc.status
        return error_response(err, request.path)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(MaieError("internal error; see the daemon log", code="UNAVAILABLE"), request.path)


@web.middleware
async def identity_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[IDENTITY] = identify(request, request.app[CTX].settings)
    return await handler(request)


@web.middleware
async def encoding_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Compressed request bodies are refused (415), after the identity check: the server runs with
    auto_decompress=False (connections.RUNNER_OPTIONS), so nothing is ever inflated, on the loop or elsewhere."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity") and request.body_exists:
        raise UnsupportedMedia(f"compressed request bodies (Content-Encoding: {encoding[:40]}) are not accepted;"
                               " send the file as it is", details={"content_encoding": encoding[:40]})
    return await handler(request)


def create_app(ctx: ApiContext) -> web.Application:
    # Bodies other than multipart uploads (streamed with our own limit) are small JSON documents.
    app = web.Application(middlewares=[errors_middleware, identity_middleware, encoding_middleware],
                          client_max_size=4 * 1024 * 1024)
    app[CTX] = ctx
    app.add_routes(routes_tasks.routes)
    app.add_routes(routes_system.routes)
    app.add_routes(routes_openai.routes)
    _add_template_routes(app)
    return app


def _add_template_routes(app: web.Application) -> None:
    import importlib

    try:
        module = importlib.import_module("maied.api.routes_templates")
    except ImportError:
        return
    app.add_routes(module.routes)


__all__ = ["create_app", "InvalidRequest"]
