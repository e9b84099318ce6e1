"""JSON Schema for untrusted templates, held inside its own document.

References (`$ref`) resolve inside the schema only: validators are built on a `referencing` registry with
no retrieval, so `file://`, `http://` and any other outside reference is never fetched; such a reference,
one that points nowhere, or a chain of references that loops is refused when the template is saved,
naming the reference. `pattern` is matched by the `regex` module with a time limit, so no pattern can
backtrack without end (a pattern that runs out of time is a validation error, not a frozen worker).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import regex
from jsonschema import validators
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT7, DRAFT202012

PATTERN_SECONDS = 0.2
"""Longest time one `pattern` may take against one string."""
REF_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")
REFUSED_KEYWORDS = ("patternProperties", "$dynamicAnchor", "$recursiveAnchor")
MAX_DEPTH = 64
DOCUMENT_URI = "urn:maie:template-schema"
DIALECTS: dict[str, Any] = {
    "http://json-schema.org/draft-07/schema#": jsonschema.Draft7Validator,
    "http://json-schema.org/draft-07/schema": jsonschema.Draft7Validator,
    "https://json-schema.org/draft/2020-12/schema": jsonschema.Draft202012Validator,
}


def _bounded_pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "string"):
        return
    try:
        found = regex.search(str(pattern), instance, timeout=PATTERN_SECONDS)
    except TimeoutError:
        yield jsonschema.ValidationError(f"pattern {str(pattern)[:80]!r} took longer than {PATTERN_SECONDS} s")
        return
    except regex.error as exc:
        yield jsonschema.ValidationError(f"pattern {str(pattern)[:80]!r} is not a valid expression: {exc}")
        return
    if found is None:
        yield jsonschema.ValidationError(f"{instance[:80]!r} does not match {str(pattern)[:80]!r}")


_BOUNDED = {base: validators.extend(base, {"pattern": _bounded_pattern}) for base in set(DIALECTS.values())}


def dialect_of(schema: dict[str, Any]) -> Any:
    return DIALECTS.get(str(schema.get("$schema", "")), jsonschema.Draft202012Validator)


def validator_for_schema(schema: dict[str, Any]) -> Any:
    """A validator that never reaches outside `schema` and whose patterns are time-bounded."""
    return _BOUNDED[dialect_of(schema)](schema, registry=Registry())


def _resolver(schema: dict[str, Any]) -> Any:
    spec = DRAFT7 if dialect_of(schema) is jsonschema.Draft7Validator else DRAFT202012
    return Registry().with_resource(DOCUMENT_URI, spec.create_resource(schema)).resolver(DOCUMENT_URI)


def ref_problem(schema: dict[str, Any]) -> str | None:
    """What is wrong with the references of `schema`: outside, unresolvable, or looping; None when sound."""
    try:
        return _first_ref_problem(schema)
    except RecursionError as exc:
        return str(exc)


def _first_ref_problem(schema: dict[str, Any]) -> str | None:
    for key, value in _walk(schema):
        if key in REFUSED_KEYWORDS:
            return f"{key} is not accepted in template schemas"
        if key == "$id" and not (isinstance(value, str) and value.startswith("#")):
            return f"$id {str(value)[:120]!r} is not accepted: references resolve inside the schema only"
        if key in REF_KEYS:
            problem = _one_ref_problem(schema, value)
            if problem:
                return problem
    return None


def _one_ref_problem(schema: dict[str, Any], ref: Any) -> str | None:
    if not isinstance(ref, str) or not ref.startswith("#"):
        return f"$ref {str(ref)[:120]!r} points outside the schema: references resolve inside the schema only"
    seen: list[str] = []
    while isinstance(ref, str):
        if ref in seen:
            return f"$ref {seen[0][:120]!r} loops: {' -> '.join(s[:60] for s in [*seen, ref])}"
        seen.append(ref)
        if not ref.startswith("#"):
            return f"$ref {ref[:120]!r} points outside the schema: references resolve inside the schema only"
        try:
            target = _resolver(schema).lookup(ref).contents
        except (Unresolvable, LookupError, ValueError, TypeError):
            return f"$ref {ref[:120]!r} does not resolve inside the schema"
        ref = target.get("$ref") if isinstance(target, dict) else None
    return None


def _walk(node: Any, depth: int = 0) -> Iterator[tuple[str, Any]]:
    if depth > MAX_DEPTH:
        raise RecursionError(f"the schema is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("enum", "const", "examples", "default"):
                continue
            yield key, value
            yield from _walk(value, depth + 1)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, depth + 1)
