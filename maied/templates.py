"""Summary templates: load, validate, render (Jinja2 sandbox) and store them.

A template is a folder `<id>/` holding `schema.json` (JSON Schema draft-07 or 2020-12: every object has
`additionalProperties: false`, every string a `maxLength`, every array a `maxItems`), `prompt.jinja` (the
instruction, rendered in a `SandboxedEnvironment`) and `example.json` (an answer valid against the
schema). The schema's `title` and `description` describe the template; `x-maie-kind` is `summary`
(default) or `enhancement` (the transcript-cleaning instruction). Built-in templates ship in `templates/`;
the admin group's own live in `$DATA_DIR/templates`. A template that fails validation is reported by
`problems()` and never served.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from jinja2 import StrictUndefined, TemplateError, meta

from maied.errors import Conflict, InvalidRequest, TemplateNotFound
from maied.template_sandbox import BoundedSandbox, render_bounded

TEMPLATE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
KINDS = ("summary", "enhancement")
ENHANCEMENT_TEMPLATE_ID = "text-enhancement"
MAX_PROMPT_CHARS = 20_000
MAX_SCHEMA_CHARS = 50_000
_SCHEMA_DIALECTS = {
    "http://json-schema.org/draft-07/schema#": jsonschema.Draft7Validator,
    "http://json-schema.org/draft-07/schema": jsonschema.Draft7Validator,
    "https://json-schema.org/draft/2020-12/schema": jsonschema.Draft202012Validator,
}
_FILES = ("schema.json", "prompt.jinja", "example.json")

def builtin_templates_dir() -> Path:
    """The shipped templates: `templates/` next to the `maied` package (a source tree or the .deb's tree)."""
    return Path(__file__).resolve().parent.parent / "templates"


_ENV = BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@dataclass(frozen=True)
class Template:
    id: str
    schema: dict[str, Any]
    prompt: str
    example: dict[str, Any]
    builtin: bool = False

    @property
    def kind(self) -> str:
        return str(self.schema.get("x-maie-kind", "summary"))

    @property
    def title(self) -> str:
        return str(self.schema.get("title", self.id))

    @property
    def description(self) -> str:
        return str(self.schema.get("description", ""))

    def info(self) -> dict[str, Any]:
        """What GET /v1/templates lists."""
        return {"id": self.id, "title": self.title, "description": self.description, "kind": self.kind,
                "builtin": self.builtin}

    def to_dict(self) -> dict[str, Any]:
        """What GET /v1/templates/{id} answers."""
        return {**self.info(), "schema": self.schema, "prompt": self.prompt, "example": self.example}

    def render(self, **variables: Any) -> str:
        """The prompt for these variables (transcript, language, vocabulary, merging, context_before, speakers:
        the SPEAKER_n labels of a diarized transcript's turns, else empty)."""
        return render_prompt(self.prompt, self.schema, self.example, variables)


def render_prompt(prompt: str, schema: dict[str, Any], example: dict[str, Any], variables: dict[str, Any]) -> str:
    values = {
        "transcript": "",
        "language": "",
        "vocabulary": [],
        "merging": False,
        "context_before": "",
        "speakers": [],
        **variables,
        "fields": schema_outline(schema),
        "schema_json": json.dumps(schema, ensure_ascii=False, separators=(",", ":")),
        "example_json": json.dumps(example, ensure_ascii=False),
    }
    try:
        return render_bounded(_ENV, prompt, values).strip()
    except TemplateError as exc:
        raise InvalidRequest(f"template prompt failed to render: {exc}") from None


def schema_outline(schema: dict[str, Any], indent: str = "") -> str:
    """A short, readable list of an object schema's fields (cheaper in tokens than the schema itself)."""
    lines = []
    for name, sub in (schema.get("properties") or {}).items():
        desc = f": {sub['description']}" if sub.get("description") else ""
        kind = sub.get("type")
        if kind == "array":
            items = sub.get("items") or {}
            what = "objects" if items.get("type") == "object" else _scalar_words(items, plural=True)
            lines.append(f"{indent}- {name}: a list of at most {sub.get('maxItems', 'a few')} {what}{desc}")
            if items.get("type") == "object":
                lines.append(schema_outline(items, indent + "  "))
        elif kind == "object":
            lines.append(f"{indent}- {name}: an object{desc}")
            lines.append(schema_outline(sub, indent + "  "))
        else:
            lines.append(f"{indent}- {name}: {_scalar_words(sub, plural=False)}{desc}")
    return "\n".join(lines)


def _scalar_words(sub: dict[str, Any], *, plural: bool) -> str:
    kind = sub.get("type")
    if kind == "string":
        limit = f" of at most {sub['maxLength']} characters" if "maxLength" in sub else ""
        return ("texts" if plural else "text") + limit
    return f"{kind}s" if plural else str(kind)


# --- validation --------------------------------------------------------------------------------------
def check_template_id(template_id: str) -> str:
    if not isinstance(template_id, str) or not TEMPLATE_ID_RE.fullmatch(template_id):
        raise InvalidRequest(
            "template id must be 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit",
            details={"template_id": str(template_id)[:80]},
        )
    return template_id


def validate_template(template: Template) -> None:
    """Raise InvalidRequest naming the first thing wrong with `template`."""
    check_template_id(template.id)
    problem = _schema_problem(template.schema) or _prompt_problem(template) or _example_problem(template)
    if problem:
        raise InvalidRequest(f"template {template.id!r}: {problem}", details={"template_id": template.id})


def validator_for_schema(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    cls = _SCHEMA_DIALECTS.get(str(schema.get("$schema", "")), jsonschema.Draft202012Validator)
    return cls(schema)


def _schema_problem(schema: Any) -> str | None:
    if not isinstance(schema, dict):
        return "schema.json must be a JSON object"
    if "$schema" in schema and schema["$schema"] not in _SCHEMA_DIALECTS:
        return "schema.json: $schema must be draft-07 or 2020-12"
    if len(json.dumps(schema)) > MAX_SCHEMA_CHARS:
        return f"schema.json is larger than {MAX_SCHEMA_CHARS} characters"
    cls = _SCHEMA_DIALECTS.get(str(schema.get("$schema", "")), jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"schema.json is not a valid JSON Schema: {exc.message}"
    if schema.get("type") != "object":
        return "schema.json: the root must be of type object"
    if schema.get("x-maie-kind", "summary") not in KINDS:
        return f"schema.json: x-maie-kind must be one of {', '.join(KINDS)}"
    for path, sub in _subschemas(schema, "#"):
        problem = _limit_problem(sub)
        if problem:
            return f"schema.json at {path}: {problem}"
    return None


def _limit_problem(sub: dict[str, Any]) -> str | None:
    types = sub.get("type")
    types = types if isinstance(types, list) else [types]
    if "object" in types and sub.get("additionalProperties") is not False:
        return "objects must set additionalProperties: false"
    if "string" in types and "enum" not in sub and "const" not in sub and not isinstance(sub.get("maxLength"), int):
        return "strings must set maxLength"
    if "array" in types and not isinstance(sub.get("maxItems"), int):
        return "arrays must set maxItems"
    return None


def _subschemas(schema: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(schema, dict):
        return
    yield path, schema
    for key in ("properties", "$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            yield from _subschemas(sub, f"{path}/{key}/{name}")
    for key in ("items", "additionalItems", "not", "if", "then", "else"):
        if isinstance(schema.get(key), dict):
            yield from _subschemas(schema[key], f"{path}/{key}")
    for key in ("prefixItems", "anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(schema.get(key) or []):
            yield from _subschemas(sub, f"{path}/{key}/{i}")


def _prompt_problem(template: Template) -> str | None:
    if not isinstance(template.prompt, str) or not template.prompt.strip():
        return "prompt.jinja is empty"
    if len(template.prompt) > MAX_PROMPT_CHARS:
        return f"prompt.jinja is longer than {MAX_PROMPT_CHARS} characters"
    try:
        names = meta.find_undeclared_variables(_ENV.parse(template.prompt))
    except TemplateError as exc:
        return f"prompt.jinja does not parse: {exc}"
    if "transcript" not in names:
        return "prompt.jinja never uses {{ transcript }}"
    try:
        template.render(transcript="xin chào", language="vi", vocabulary=["MAIE"], merging=True,
                        context_before="chào")
    except InvalidRequest as exc:
        return str(exc)
    return None


def _example_problem(template: Template) -> str | None:
    if not isinstance(template.example, dict):
        return "example.json must be a JSON object"
    error = jsonschema.exceptions.best_match(validator_for_schema(template.schema).iter_errors(template.example))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return f"example.json does not match schema.json at {where}: {error.message}"
    return None


# --- the store ---------------------------------------------------------------------------------------
class TemplateStore:
    """Built-in templates (read-only) plus the admin group's own (created, replaced, deleted here)."""

    def __init__(self, builtin_dir: Path, user_dir: Path):
        self.builtin_dir = Path(builtin_dir)
        self.user_dir = Path(user_dir)

    def list(self, kind: str | None = None) -> builtins.list[dict[str, Any]]:
        out = [t.info() for _, t, _err in self._load_all() if t is not None]
        return [t for t in out if kind is None or t["kind"] == kind]

    def problems(self) -> dict[str, str]:
        """Templates that fail validation: id -> what is wrong (they are not served)."""
        return {tid: err for tid, _, err in self._load_all() if err}

    def get(self, template_id: str) -> Template:
        if not isinstance(template_id, str) or not TEMPLATE_ID_RE.fullmatch(template_id):
            raise TemplateNotFound(f"no template {str(template_id)[:80]!r}")
        for folder, builtin in ((self.user_dir / template_id, False), (self.builtin_dir / template_id, True)):
            if folder.is_dir():
                template, error = _load_folder(folder, builtin)
                if error or template is None:
                    raise TemplateNotFound(f"template {template_id!r} is broken: {error}",
                                           details={"template_id": template_id, "problem": error})
                return template
        raise TemplateNotFound(f"no template {template_id!r}", details={"template_id": template_id})

    def schema(self, template_id: str) -> dict[str, Any]:
        return self.get(template_id).schema

    def create(self, template_id: str, payload: dict[str, Any]) -> Template:
        check_template_id(template_id)
        if (self.user_dir / template_id).exists() or (self.builtin_dir / template_id).exists():
            raise Conflict(f"template {template_id!r} already exists", details={"template_id": template_id})
        return self._save(template_id, payload)

    def replace(self, template_id: str, payload: dict[str, Any]) -> Template:
        check_template_id(template_id)
        self._refuse_builtin(template_id)
        if not (self.user_dir / template_id).is_dir():
            raise TemplateNotFound(f"no template {template_id!r}", details={"template_id": template_id})
        return self._save(template_id, payload)

    def delete(self, template_id: str) -> None:
        check_template_id(template_id)
        self._refuse_builtin(template_id)
        folder = self.user_dir / template_id
        if not folder.is_dir():
            raise TemplateNotFound(f"no template {template_id!r}", details={"template_id": template_id})
        trash = self.user_dir / f".{template_id}.deleted.{os.getpid()}"
        folder.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)

    # --- internals ---------------------------------------------------------------------------------
    def _refuse_builtin(self, template_id: str) -> None:
        if (self.builtin_dir / template_id).is_dir() and not (self.user_dir / template_id).is_dir():
            raise Conflict(f"template {template_id!r} is built in and cannot be changed; create a new id",
                           details={"template_id": template_id})

    def _save(self, template_id: str, payload: dict[str, Any]) -> Template:
        template = template_from_payload(template_id, payload)
        validate_template(template)
        self.user_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.user_dir / f".{template_id}.tmp.{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        (tmp / "schema.json").write_text(json.dumps(template.schema, ensure_ascii=False, indent=2) + "\n")
        (tmp / "prompt.jinja").write_text(template.prompt)
        (tmp / "example.json").write_text(json.dumps(template.example, ensure_ascii=False, indent=2) + "\n")
        final = self.user_dir / template_id
        old = self.user_dir / f".{template_id}.old.{os.getpid()}"
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        return template

    def _load_all(self) -> builtins.list[tuple[str, Template | None, str | None]]:
        found: dict[str, tuple[str, Template | None, str | None]] = {}
        for root, builtin in ((self.builtin_dir, True), (self.user_dir, False)):
            if not root.is_dir():
                continue
            for folder in sorted(root.iterdir()):
                if folder.is_dir() and not folder.name.startswith("."):
                    # the user's copy of an id wins (only possible for folders placed by hand)
                    found[folder.name] = (folder.name, *_load_folder(folder, builtin))
        return [found[k] for k in sorted(found)]


def template_from_payload(template_id: str, payload: Any) -> Template:
    """A Template from an API body `{"schema": {...}, "prompt": "...", "example": {...}}`."""
    if not isinstance(payload, dict):
        raise InvalidRequest("the body must be a JSON object with schema, prompt and example")
    missing = [k for k in ("schema", "prompt", "example") if k not in payload]
    if missing:
        raise InvalidRequest(f"missing field(s): {', '.join(missing)}", details={"missing": missing})
    return Template(id=template_id, schema=payload["schema"], prompt=payload["prompt"],
                    example=payload["example"], builtin=False)


def _load_folder(folder: Path, builtin: bool) -> tuple[Template | None, str | None]:
    """(template, None) when valid, else (None, what is wrong)."""
    tid = folder.name
    try:
        check_template_id(tid)
        missing = [f for f in _FILES if not (folder / f).is_file()]
        if missing:
            raise InvalidRequest(f"missing {', '.join(missing)}")
        schema = json.loads((folder / "schema.json").read_text(encoding="utf-8"))
        example = json.loads((folder / "example.json").read_text(encoding="utf-8"))
        template = Template(id=tid, schema=schema, prompt=(folder / "prompt.jinja").read_text(encoding="utf-8"),
                            example=example, builtin=builtin)
        validate_template(template)
    except (InvalidRequest, OSError, ValueError) as exc:
        message = exc.message if isinstance(exc, InvalidRequest) else str(exc)
        return None, message.removeprefix(f"template {tid!r}: ")
    return template, None
