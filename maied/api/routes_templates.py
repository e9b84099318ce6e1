"""Summary templates over the API: anyone who may use the daemon reads them; only the admin group
(ADMIN_GROUP, or root, or the API key over TCP as the INTERFACE allows) creates, replaces and deletes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from maied.api.connections import read_within
from maied.api.context import ctx_of, identity_of
from maied.errors import Forbidden, InvalidRequest, NotFound, TemplateNotFound
from maied.templates import TemplateStore, builtin_templates_dir

routes = web.RouteTableDef()


def _store(request: web.Request) -> TemplateStore:
    ctx = ctx_of(request)
    return TemplateStore(ctx.builtin_templates or builtin_templates_dir(), ctx.settings.templates_dir)


def _require_admin(request: web.Request) -> None:
    if not identity_of(request).is_admin:
        raise Forbidden(f"managing templates is for the {ctx_of(request).settings.ADMIN_GROUP} group")


def _not_found_404(exc: TemplateNotFound) -> NotFound:
    return NotFound(exc.message, details=exc.details, code="TEMPLATE_NOT_FOUND")


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await read_within(request.text()))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise InvalidRequest("the body must be JSON: {\"id\", \"schema\", \"prompt\", \"example\"}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body


@routes.get("/v1/templates")
async def list_templates(request: web.Request) -> web.Response:
    store = _store(request)
    # off the loop: a template placed by hand is checked (in the bounded process) the first time it is seen
    templates, problems = await asyncio.to_thread(store.list_with_problems, request.query.get("kind") or None)
    body: dict[str, Any] = {"templates": templates}
    if problems:
        body["invalid"] = [{"id": tid, "problem": problem} for tid, problem in sorted(problems.items())]
    return web.json_response(body)


@routes.get("/v1/templates/{template_id}")
async def get_template(request: web.Request) -> web.Response:
    try:
        template = await asyncio.to_thread(_store(request).get, request.match_info["template_id"])
        return web.json_response(template.to_dict())
    except TemplateNotFound as exc:
        raise _not_found_404(exc) from None


@routes.get("/v1/templates/{template_id}/schema")
async def get_template_schema(request: web.Request) -> web.Response:
    try:
        return web.json_response(await asyncio.to_thread(_store(request).schema, request.match_info["template_id"]))
    except TemplateNotFound as exc:
        raise _not_found_404(exc) from None


@routes.post("/v1/templates")
async def create_template(request: web.Request) -> web.Response:
    _require_admin(request)
    body = await _json_body(request)
    template_id = body.get("id")
    if not isinstance(template_id, str):
        raise InvalidRequest("the body needs an \"id\"")
    template = await asyncio.to_thread(_store(request).create, template_id, body)
    return web.json_response(template.to_dict(), status=201)


@routes.put("/v1/templates/{template_id}")
async def replace_template(request: web.Request) -> web.Response:
    _require_admin(request)
    body = await _json_body(request)
    try:
        template = await asyncio.to_thread(_store(request).replace, request.match_info["template_id"], body)
    except TemplateNotFound as exc:
        raise _not_found_404(exc) from None
    return web.json_response(template.to_dict())


@routes.delete("/v1/templates/{template_id}")
async def delete_template(request: web.Request) -> web.Response:
    _require_admin(request)
    try:
        await asyncio.to_thread(_store(request).delete, request.match_info["template_id"])
    except TemplateNotFound as exc:
        raise _not_found_404(exc) from None
    return web.json_response({"deleted": request.match_info["template_id"]})
