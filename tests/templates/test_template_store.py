"""The template store: shipped templates are valid, broken ones are reported and not served, the admin's
templates are validated before saving, ids cannot leave the store, prompts render in a sandbox."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import jsonschema
import pytest

from maied.errors import Conflict, InvalidRequest, LLMProcessingError, TemplateNotFound
from maied.templates import ENHANCEMENT_TEMPLATE_ID, TemplateStore, validator_for_schema

BUILTIN = Path(__file__).resolve().parents[2] / "templates"
SUMMARY_IDS = {"general-summary-vi", "general-summary-en", "meeting-notes", "interview-notes"}


def _payload(**changes: object) -> dict:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Tiny",
        "type": "object",
        "additionalProperties": False,
        "required": ["gist"],
        "properties": {"gist": {"type": "string", "maxLength": 80}},
    }
    body = {"schema": schema, "prompt": "Summarize:\n{{ transcript }}", "example": {"gist": "a meeting"}}
    body.update(changes)
    return body


@pytest.fixture
def store(tmp_path: Path) -> TemplateStore:
    return TemplateStore(BUILTIN, tmp_path / "user")


@pytest.fixture
def copied_store(tmp_path: Path) -> TemplateStore:
    """A store whose built-in folder is a copy we may break."""
    builtin = tmp_path / "builtin"
    shutil.copytree(BUILTIN, builtin)
    return TemplateStore(builtin, tmp_path / "user")


def test_shipped_templates_are_all_valid_and_listed(store: TemplateStore) -> None:
    assert store.problems() == {}
    listed = {t["id"]: t for t in store.list()}
    assert set(listed) == SUMMARY_IDS | {ENHANCEMENT_TEMPLATE_ID}
    assert {t["id"] for t in store.list(kind="summary")} == SUMMARY_IDS
    assert listed[ENHANCEMENT_TEMPLATE_ID]["kind"] == "enhancement"
    assert all(t["builtin"] and t["title"] for t in listed.values())


@pytest.mark.parametrize("template_id", sorted(SUMMARY_IDS | {ENHANCEMENT_TEMPLATE_ID}))
def test_shipped_example_matches_its_schema_and_schema_is_closed(store: TemplateStore, template_id: str) -> None:
    template = store.get(template_id)
    validator_for_schema(template.schema).validate(template.example)
    # additionalProperties: false means an unexpected field is refused.
    with pytest.raises(jsonschema.ValidationError):
        validator_for_schema(template.schema).validate({**template.example, "unexpected": "x"})
    assert store.schema(template_id) == template.schema


def test_meeting_notes_action_items_have_owner_and_due_date(store: TemplateStore) -> None:
    items = store.schema("meeting-notes")["properties"]["action_items"]["items"]
    assert {"task", "owner", "due_date"} <= set(items["required"])


def test_prompt_renders_transcript_vocabulary_and_field_limits(store: TemplateStore) -> None:
    prompt = store.get("general-summary-vi").render(transcript="xin chao cac ban", vocabulary=["Nguyễn Văn A", "MAIE"])
    assert "xin chao cac ban" in prompt
    assert "Nguyễn Văn A, MAIE" in prompt
    assert "100" in prompt  # the title's maxLength is told to the model
    merging = store.get("general-summary-en").render(transcript="[1] {}", merging=True)
    assert "summaries of consecutive parts" in merging


@pytest.mark.parametrize(
    ("filename", "content", "problem"),
    [
        ("schema.json", "{not json", "Expecting property name"),
        ("example.json", '{"title": 5}', "example.json does not match"),
        ("prompt.jinja", "No transcript here", "never uses {{ transcript }}"),
        ("prompt.jinja", "{{ transcript }} {% if %}", "does not parse"),
        ("prompt.jinja", "{{ transcript }} {{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
        # Exhaustion of the daemon that validates and renders templates: memory and time.
        ("prompt.jinja", "{{ transcript }} {{ 'x' * 10**10 }}", "repeated sequence longer than"),
        ("prompt.jinja", "{{ transcript }} {{ 2 ** 100000000 }}", "exponent"),
        ("prompt.jinja", "{{ transcript }}{% for i in range(99999) %}{% for j in range(99999) %}xyz{% endfor %}"
                         "{% endfor %}", "rendered prompt is longer than"),
    ],
)
def test_broken_template_is_reported_and_not_served(copied_store: TemplateStore, filename: str, content: str,
                                                    problem: str) -> None:
    (copied_store.builtin_dir / "general-summary-en" / filename).write_text(content)
    problems = copied_store.problems()
    assert problem in problems["general-summary-en"]
    assert "general-summary-en" not in {t["id"] for t in copied_store.list()}
    with pytest.raises(TemplateNotFound):
        copied_store.get("general-summary-en")
    assert copied_store.get("meeting-notes").id == "meeting-notes"  # the others are still served


@pytest.mark.parametrize(
    ("schema_change", "problem"),
    [
        ({"additionalProperties": True}, "additionalProperties: false"),
        ({"properties": {"gist": {"type": "string"}}}, "maxLength"),
        ({"properties": {"gist": {"type": "array", "items": {"type": "string", "maxLength": 9}}}}, "maxItems"),
        ({"type": "array"}, "root must be of type object"),
        ({"$schema": "http://json-schema.org/draft-04/schema#"}, "draft-07 or 2020-12"),
        ({"properties": {"gist": {"type": "strng"}}}, "not a valid JSON Schema"),
    ],
)
def test_create_validates_before_saving(store: TemplateStore, schema_change: dict, problem: str) -> None:
    body = _payload()
    body["schema"] = {**body["schema"], **schema_change}
    with pytest.raises(InvalidRequest) as err:
        store.create("tiny", body)
    assert problem in err.value.message
    assert not (store.user_dir / "tiny").exists()


def test_create_replace_delete_round_trip(store: TemplateStore) -> None:
    created = store.create("tiny", _payload())
    assert created.builtin is False
    assert store.get("tiny").schema["title"] == "Tiny"
    assert "tiny" in {t["id"] for t in store.list()}
    with pytest.raises(Conflict):
        store.create("tiny", _payload())
    store.replace("tiny", _payload(prompt="Tóm tắt:\n{{ transcript }}"))
    assert store.get("tiny").prompt.startswith("Tóm tắt")
    saved = json.loads((store.user_dir / "tiny" / "schema.json").read_text())
    assert saved["title"] == "Tiny"
    store.delete("tiny")
    with pytest.raises(TemplateNotFound):
        store.get("tiny")
    assert [p.name for p in store.user_dir.iterdir()] == []


def test_builtin_templates_cannot_be_replaced_deleted_or_shadowed(store: TemplateStore) -> None:
    with pytest.raises(Conflict):
        store.replace("meeting-notes", _payload())
    with pytest.raises(Conflict):
        store.delete("meeting-notes")
    with pytest.raises(Conflict):
        store.create("meeting-notes", _payload())
    with pytest.raises(TemplateNotFound):
        store.replace("missing", _payload())
    with pytest.raises(TemplateNotFound):
        store.delete("missing")


@pytest.mark.parametrize("bad_id", ["../evil", "a/b", "..", ".hidden", "UPPER", "x" * 65, "", "a b", "%2e%2e"])
def test_unsafe_ids_are_refused_and_write_nothing(store: TemplateStore, tmp_path: Path, bad_id: str) -> None:
    with pytest.raises(InvalidRequest):
        store.create(bad_id, _payload())
    with pytest.raises(TemplateNotFound):
        store.get(bad_id)
    assert not (tmp_path / "evil").exists()
    assert not store.user_dir.exists() or list(store.user_dir.iterdir()) == []


def test_missing_body_fields_are_named(store: TemplateStore) -> None:
    with pytest.raises(InvalidRequest) as err:
        store.create("tiny", {"prompt": "{{ transcript }}"})
    assert err.value.details["missing"] == ["schema", "example"]


def test_an_admins_template_renders_in_the_bounded_process(store: TemplateStore) -> None:
    """A saved template whose work explodes only on a transcript longer than the save-time trial stops in
    a task within seconds (LLM_PROCESSING_ERROR), and the same template renders normally otherwise."""
    body = _payload()
    body["prompt"] = ("{% if transcript|length > 40000 %}{% for i in range(100000) %}{% for j in range(100000) %}"
                      "{% endfor %}{% endfor %}{% endif %}Summarize:\n{{ transcript }}")
    template = store.create("tiny", body)
    assert "xin chào" in template.render(transcript="xin chào")
    started = time.monotonic()
    with pytest.raises(LLMProcessingError) as err:
        template.render(transcript="word " * 10_000)
    assert time.monotonic() - started < 15
    assert "failed to render" in err.value.message


def test_a_template_placed_by_hand_is_checked_once_and_marked(store: TemplateStore) -> None:
    body = _payload()
    folder = store.user_dir / "by-hand"
    folder.mkdir(parents=True)
    (folder / "schema.json").write_text(json.dumps(body["schema"]))
    (folder / "prompt.jinja").write_text(body["prompt"])
    (folder / "example.json").write_text(json.dumps(body["example"]))
    assert "by-hand" in {t["id"] for t in store.list()}
    assert (folder / ".validated").is_file(), "the bounded check's verdict is kept beside the template"
    (folder / "prompt.jinja").write_text("{% include 'x' %}{{ transcript }}")  # changed by hand: checked again
    assert "include" in store.problems()["by-hand"]
