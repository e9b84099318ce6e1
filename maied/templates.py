"""Summary templates: load, validate, render (Jinja2 sandbox) and store them.

A template is a folder `<id>/` holding `schema.json` (JSON Schema draft-07 or 2020-12: every object has
`additionalProperties: false`, every string a `maxLength`, every array a `maxItems`), `prompt.jinja` (the
instruction, rendered in a `SandboxedEnvironment`) and `example.json` (an answer valid against the
schema). The schema's `title` and `description` describe the template; `x-maie-kind` is `summary`
(default) or `enhancement` (the transcript-cleaning instruction). Built-in templates ship in `templates/`;
the admin group's own live in `$DATA_DIR/templates`. A template that fails validation is reported by
`problems()` and never served. An uploaded template is checked in a bounded child process
(`maied.template_check`) once, when it is saved; listing and loading run only the cheap static checks.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from jinja2 import StrictUndefined, TemplateError, meta, nodes

from maied.errors import Conflict, InvalidRequest, TemplateNotFound
from maied.template_check import in_bounded_child, render_bounded_process, template_problem_bounded
from maied.template_sandbox import BoundedSandbox, output_limit, render_bounded
from maied.template_schema import DIALECTS as _SCHEMA_DIALECTS
from maied.template_schema import ref_problem, validator_for_schema

TEMPLATE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
KINDS = ("summary", "enhancement")
ENHANCEMENT_TEMPLATE_ID = "text-enhancement"
MAX_PROMPT_CHARS = 20_000
MAX_SCHEMA_CHARS = 50_000
_FILES = ("schema.json", "prompt.jinja", "example.json")
VALIDATED_MARK = ".validated"
"""In a saved template's folder: the sha256 of its three files when the bounded check passed them."""
_REFUSED_NODES = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)

def builtin_templates_dir() -> Path:
    """The shipped templates: `templates/` next to the `maied` package (a checkout, an editable install or the
    .deb's tree), else the copy a wheel installs under <prefix>/share/maie/templates."""
    beside = Path(__file__).resolve().parent.parent / "templates"
    if beside.is_dir():
        return beside
    return Path(sys.prefix) / "share" / "maie" / "templates"


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
        """The prompt for these variables (transcript, language, language_name, vocabulary, merging,
        context_before, speakers: the SPEAKER_n labels of a diarized transcript's turns, else empty). An
        admin's template renders in the bounded process; a built-in one here."""
        if self.builtin or in_bounded_child():
            return render_prompt(self.prompt, self.schema, self.example, variables)
        payload = {"schema": self.schema, "prompt": self.prompt, "example": self.example}
        extra = 3 * len(json.dumps(payload, ensure_ascii=False))  # the schema and example it may print
        return render_bounded_process(self.id, payload, variables, output_limit(variables) + extra)


def render_prompt(prompt: str, schema: dict[str, Any], example: dict[str, Any], variables: dict[str, Any]) -> str:
    values = {
        "transcript": "",
        "language": "",
        "language_name": "",
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


def validate_template(template: Template, trial_transcript: str = "xin chào") -> None:
    """Raise InvalidRequest naming the first thing wrong with `template` (static checks, a trial render,
    the example against the schema). Untrusted templates run this only in the bounded process
    (`maied.template_check`)."""
    check_template_id(template.id)
    problem = (static_problem(template) or _render_problem(template, trial_transcript)
               or _example_problem(template))
    if problem:
        raise InvalidRequest(f"template {template.id!r}: {problem}", details={"template_id": template.id})


def static_problem(template: Template) -> str | None:
    """The checks that run no template code and match no pattern: cheap and safe anywhere."""
    return _schema_problem(template.schema) or _prompt_problem(template)


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
    except RecursionError:
        return "schema.json is nested too deeply"
    problem = ref_problem(schema)
    if problem:
        return f"schema.json: {problem}"
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
        tree = _ENV.parse(template.prompt)
        names = meta.find_undeclared_variables(tree)
    except TemplateError as exc:
        return f"prompt.jinja does not parse: {exc}"
    except RecursionError:
        return "prompt.jinja is nested too deeply"
    except ValueError as exc:  # e.g. an integer literal of thousands of digits
        return f"prompt.jinja does not parse: {str(exc)[:200]}"
    refused = next(iter(tree.find_all(_REFUSED_NODES)), None)
    if refused is not None:
        return f"prompt.jinja may not use {type(refused).__name__.lower()}: a prompt is one self-contained file"
    if "transcript" not in names:
        return "prompt.jinja never uses {{ transcript }}"
    return None


def _render_problem(template: Template, transcript: str) -> str | None:
    try:
        template.render(transcript=transcript, language="vi", vocabulary=["MAIE"], merging=True,
                        context_before="chào")
    except InvalidRequest as exc:
        return str(exc)
    except RecursionError:
        return "prompt.jinja recurses without end"
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        return f"prompt.jinja failed to render: {type(exc).__name__}: {str(exc)[:300]}"
    return None


def _example_problem(template: Template) -> str | None:
    if not isinstance(template.example, dict):
        return "example.json must be a JSON object"
    try:
        error = jsonschema.exceptions.best_match(validator_for_schema(template.schema).iter_errors(template.example))
    except RecursionError:
        return "schema.json refers to itself without end"
    except Exception as exc:  # a reference or keyword the validator cannot follow
        return f"example.json could not be checked against schema.json: {str(exc)[:300]}"
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

    def list_with_problems(self, kind: str | None = None) -> tuple[builtins.list[dict[str, Any]], dict[str, str]]:
        """What GET /v1/templates answers, from one pass over the folders."""
        loaded = self._load_all()
        served = [t.info() for _, t, _err in loaded if t is not None and (kind is None or t.kind == kind)]
        return served, {tid: err for tid, _, err in loaded if err}

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
        check_template_id(template_id)
        problem = static_problem(template) or template_problem_bounded(template_id, payload)
        if problem:
            raise InvalidRequest(f"template {template_id!r}: {problem.removeprefix(f'template {template_id!r}: ')}",
                                 details={"template_id": template_id})
        self.user_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.user_dir / f".{template_id}.tmp.{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        (tmp / "schema.json").write_text(json.dumps(template.schema, ensure_ascii=False, indent=2) + "\n")
        (tmp / "prompt.jinja").write_text(template.prompt)
        (tmp / "example.json").write_text(json.dumps(template.example, ensure_ascii=False, indent=2) + "\n")
        (tmp / VALIDATED_MARK).write_text(_content_hash(tmp) + "\n")
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


_VERDICTS: dict[str, str | None] = {}
"""Content hash -> what the full check found: each content is checked once per process, never per listing."""


def _content_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in _FILES:
        digest.update((folder / name).read_bytes() + b"\0")
    return digest.hexdigest()


def _load_folder(folder: Path, builtin: bool) -> tuple[Template | None, str | None]:
    """(template, None) when valid, else (None, what is wrong). Only cheap checks run here: the full check
    ran when the template was saved (its folder holds the mark), or runs once for content placed by hand
    (built-in templates in this process, others in the bounded process)."""
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
        problem = static_problem(template) or _full_check_once(folder, template)
        if problem:
            raise InvalidRequest(problem)
    except (InvalidRequest, OSError, ValueError, RecursionError) as exc:
        message = exc.message if isinstance(exc, InvalidRequest) else str(exc)
        return None, message.removeprefix(f"template {tid!r}: ")
    return template, None


def _full_check_once(folder: Path, template: Template) -> str | None:
    digest = _content_hash(folder)
    mark = folder / VALIDATED_MARK
    if not template.builtin and mark.is_file() and mark.read_text().strip() == digest:
        return None
    if digest not in _VERDICTS:
        if template.builtin:  # shipped with the package: trusted code, checked in this process
            try:
                validate_template(template)
                _VERDICTS[digest] = None
            except InvalidRequest as exc:
                _VERDICTS[digest] = exc.message
        else:
            payload = {"schema": template.schema, "prompt": template.prompt, "example": template.example}
            _VERDICTS[digest] = template_problem_bounded(template.id, payload)
            if _VERDICTS[digest] is None:  # placed by hand (or saved by an older maied): checked once for good
                with contextlib.suppress(OSError):
                    mark.write_text(digest + "\n")
    return _VERDICTS[digest]
