"""docs/api.md is the project's API reference: it names exactly the routes /openapi.json describes."""

from __future__ import annotations

import re
from pathlib import Path

from maied.api.openapi import openapi_spec

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
METHODS = {"get", "post", "put", "delete", "patch"}


def _documented() -> set[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    return {(m.lower(), path) for m, path in re.findall(r"^### `(GET|POST|PUT|DELETE|PATCH) (/\S+)`$", text, re.M)}


def _described() -> set[tuple[str, str]]:
    return {(m, path) for path, ops in openapi_spec()["paths"].items() for m in ops if m in METHODS}


def test_docs_api_md_and_openapi_name_the_same_routes() -> None:
    documented, described = _documented(), _described()
    assert documented == described, {"in openapi, not in docs/api.md": sorted(described - documented),
                                     "in docs/api.md, not in openapi": sorted(documented - described)}
