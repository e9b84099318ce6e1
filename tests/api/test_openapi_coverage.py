"""Every route the daemon serves is described in /openapi.json (and nothing described is missing), so
fuzzing the description reaches every route."""

from __future__ import annotations

import re

from aiohttp import web

from maied.api import routes_openai, routes_system, routes_tasks, routes_templates
from maied.api.openapi import openapi_spec


def _served() -> set[tuple[str, str]]:
    out = set()
    for table in (routes_tasks.routes, routes_system.routes, routes_templates.routes, routes_openai.routes):
        for route in table:
            assert isinstance(route, web.RouteDef)
            if route.method != "HEAD":
                out.add((route.method.lower(), re.sub(r"\{(\w+):[^}]*\}", r"{\1}", route.path)))
    return out


def _described() -> set[tuple[str, str]]:
    methods = {"get", "post", "put", "delete", "patch"}
    return {(m, path) for path, ops in openapi_spec()["paths"].items() for m in ops if m in methods}


def test_openapi_describes_exactly_the_served_routes() -> None:
    served, described = _served(), _described()
    assert served == described, {"served, not described": served - described, "described, not served": described - served}
