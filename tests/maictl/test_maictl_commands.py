"""status, result, list, cancel, delete, health, templates, models; --json; TCP with an API key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from maictl_stub import TRANSCRIPT, StubDaemon, default_script, status_doc


def complete_task(stub: StubDaemon, **results: object) -> str:
    task_id = f"t{len(stub.tasks) + 1}"
    final = default_script(task_id)[-1]
    final["results"].update(results)
    return stub.add_task([final], task_id)


def test_status_shows_the_task_for_people(stub: StubDaemon, maictl) -> None:
    task_id = stub.add_task([status_doc("t1", "PENDING", queue_position=3,
                                        warnings=[{"code": "EMBEDDED_MODEL", "message": "using whisper base"}])])
    result = maictl("status", task_id)
    assert result.exit_code == 0
    out = result.stdout
    for fragment in ("task", "t1", "PENDING", "queue position", "3", "EMBEDDED_MODEL: using whisper base"):
        assert fragment in out


def test_status_of_a_failed_task_exits_1(stub: StubDaemon, maictl) -> None:
    task_id = stub.add_task([status_doc("t1", "FAILED", stage="PREPROCESSING", error_code="AUDIO_TOO_SHORT",
                                        error="0.2 s of audio")])
    result = maictl("status", task_id)
    assert result.exit_code == 1
    assert "AUDIO_TOO_SHORT: 0.2 s of audio" in result.stdout
    assert result.stderr == "maictl: error: AUDIO_TOO_SHORT: task t1 failed in PREPROCESSING: 0.2 s of audio\n"


@pytest.mark.parametrize("fmt, expected", [
    ("txt", TRANSCRIPT + "\n"),
    ("srt", f"1\n00:00:00,000 --> 00:00:02,500\n{TRANSCRIPT}\n"),
    ("vtt", f"WEBVTT\n\n00:00:00.000 --> 00:00:02.500\n{TRANSCRIPT}\n"),
])
def test_result_prints_the_daemons_rendering(stub: StubDaemon, maictl, fmt: str, expected: str) -> None:
    task_id = complete_task(stub)
    result = maictl("result", task_id, "--format", fmt)
    assert result.exit_code == 0
    assert result.stdout == expected
    assert ("GET", f"/v1/tasks/{task_id}/transcript.{fmt}", {}) in stub.requests


def test_result_defaults_to_txt_and_writes_a_file(stub: StubDaemon, maictl, tmp_path: Path) -> None:
    task_id = complete_task(stub)
    out = tmp_path / "a.txt"
    result = maictl("result", task_id, "-o", str(out))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert out.read_text(encoding="utf-8") == TRANSCRIPT + "\n"


def test_result_json_parses(stub: StubDaemon, maictl) -> None:
    task_id = complete_task(stub)
    result = maictl("result", task_id, "--format", "json")
    assert json.loads(result.stdout)["segments"][0]["text"] == TRANSCRIPT


def test_result_summary_is_the_summary_json(stub: StubDaemon, maictl) -> None:
    summary = {"title": "Họp giao ban", "decisions": ["tăng ca"]}
    task_id = complete_task(stub, summary=summary)
    result = maictl("result", task_id, "--format", "summary")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == summary


def test_result_summary_when_none_was_asked_exits_4(stub: StubDaemon, maictl) -> None:
    task_id = complete_task(stub)
    result = maictl("result", task_id, "--format", "summary")
    assert result.exit_code == 4
    assert result.stderr.startswith("maictl: error: NO_SUMMARY: ")


def test_result_of_a_running_task_exits_4_and_leaves_no_file(stub: StubDaemon, maictl, tmp_path: Path) -> None:
    task_id = stub.add_task([status_doc("t1", "PROCESSING_ASR")])
    out = tmp_path / "a.srt"
    result = maictl("result", task_id, "--format", "srt", "-o", str(out))
    assert result.exit_code == 4
    assert result.stderr.startswith("maictl: error: TASK_NOT_FINISHED: ")
    assert not out.exists()


def test_result_of_a_failed_task_exits_1(stub: StubDaemon, maictl) -> None:
    task_id = stub.add_task([status_doc("t1", "FAILED", error_code="JOB_TIMEOUT", error="over 600 s")])
    result = maictl("result", task_id)
    assert result.exit_code == 1
    assert result.stderr.startswith("maictl: error: JOB_TIMEOUT: task t1 failed")


def test_result_of_a_task_failed_after_its_transcript_prints_both(stub: StubDaemon, maictl) -> None:
    """The LLM stage failed: the kept transcript on stdout, the failure on stderr, exit 1."""
    results = {"raw_transcript": TRANSCRIPT, "language": "vi", "segments": [{"start": 0.0, "end": 2.5, "text": TRANSCRIPT}]}
    task_id = stub.add_task([status_doc("t1", "FAILED", stage="PROCESSING_LLM", error_code="LLM_PROCESSING_ERROR",
                                        error="invalid summary", results=results)])
    result = maictl("result", task_id)
    assert result.exit_code == 1
    assert result.stdout == TRANSCRIPT + "\n"
    assert result.stderr == ("maictl: error: LLM_PROCESSING_ERROR: task t1 failed in PROCESSING_LLM: "
                             "invalid summary\n")


@pytest.mark.parametrize("fmt", ["txt", "json", "summary"])
def test_result_shows_the_tasks_warnings_on_stderr_in_every_format(stub: StubDaemon, maictl, fmt: str) -> None:
    task_id = complete_task(stub, summary={"title": "t"})
    stub.tasks[task_id][0]["warnings"] = [{"code": "EMBEDDED_MODEL", "message": "a small model"},
                                          {"code": "ENHANCEMENT_SKIPPED", "message": "already\npunctuated"}]
    result = maictl("result", task_id, "--format", fmt)
    assert result.exit_code == 0
    assert result.stderr.splitlines() == ["maictl: warning: EMBEDDED_MODEL: a small model",
                                          "maictl: warning: ENHANCEMENT_SKIPPED: already punctuated"]
    if fmt != "txt":
        json.loads(result.stdout)


def test_list_for_people_and_machines(stub: StubDaemon, maictl) -> None:
    complete_task(stub)
    stub.add_task([status_doc("t2", "PENDING")])
    people = maictl("list")
    assert people.exit_code == 0
    lines = [line.split() for line in people.stdout.splitlines() if line.strip()]
    assert [line[:2] for line in lines[1:]] == [["t2", "PENDING"], ["t1", "COMPLETE"]]  # newest first
    machines = maictl("list", "--status", "complete", "--limit", "5", "--json")
    assert [t["task_id"] for t in json.loads(machines.stdout)["tasks"]] == ["t1"]
    assert ("GET", "/v1/tasks", {"status": "COMPLETE", "limit": "5"}) in stub.requests


def test_list_tells_how_to_continue(stub: StubDaemon, maictl) -> None:
    for _ in range(3):
        complete_task(stub)
    result = maictl("list", "--limit", "2")
    assert "more: maictl list --cursor c2" in result.stderr


def test_cancel_of_a_pending_task(stub: StubDaemon, maictl) -> None:
    task_id = stub.add_task([status_doc("t1", "PENDING")])
    cancelled = maictl("cancel", task_id)
    assert (cancelled.exit_code, cancelled.stdout) == (0, "t1 CANCELLED\n")
    assert ("POST", "/v1/tasks/t1/cancel", {}) in stub.requests


def test_cancel_of_a_running_task_then_wait_then_delete(stub: StubDaemon, maictl) -> None:
    task_id = stub.add_task([status_doc("t1", "PROCESSING_ASR")])
    cancelled = maictl("cancel", task_id)
    assert cancelled.exit_code == 0
    assert cancelled.stdout.startswith("t1 cancel requested (it was PROCESSING_ASR")
    waited = maictl("status", task_id, "--wait")
    assert waited.exit_code == 1
    assert waited.stderr.splitlines()[-1] == "maictl: error: CANCELLED: task t1 was cancelled"
    deleted = maictl("delete", task_id, "--json")
    assert deleted.exit_code == 0
    assert json.loads(deleted.stdout) == {"task_id": "t1", "deleted": True}
    assert task_id not in stub.tasks


def test_health_for_people(stub: StubDaemon, maictl) -> None:
    result = maictl("health")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "maied healthy"
    assert "asr.model" in result.stdout and "disk_used_percent" in result.stdout


def test_templates_list_show_and_schema(stub: StubDaemon, maictl) -> None:
    listed = maictl("templates")
    assert "meeting_notes_v1" in listed.stdout and "Meeting notes" in listed.stdout
    assert json.loads(maictl("templates", "meeting_notes_v1").stdout)["name"] == "Meeting notes"
    assert json.loads(maictl("templates", "meeting_notes_v1", "--schema").stdout)["required"] == ["title"]
    missing = maictl("templates", "nope")
    assert (missing.exit_code, missing.stderr.split(":")[2].strip()) == (4, "TEMPLATE_NOT_FOUND")


def test_models_for_people(stub: StubDaemon, maictl) -> None:
    result = maictl("models")
    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["asr.whisper.present", "yes"] in rows  # a list of backends is keyed by backend name
    assert ["asr.chunkformer.present", "no"] in rows
    assert ["llm.present", "no"] in rows
    assert not [r for r in rows if r and r[0].startswith(("object", "data"))]  # OpenAI's list shape stays out


@pytest.mark.parametrize("args", [
    ["health", "--json"], ["models", "--json"], ["templates", "--json"], ["list", "--json"],
    ["status", "t1", "--json"], ["cancel", "t2", "--json"],
])
def test_json_output_parses(stub: StubDaemon, maictl, args: list[str]) -> None:
    complete_task(stub)
    stub.add_task([status_doc("t2", "PENDING")])
    result = maictl(*args)
    assert result.exit_code == 0, result.stderr
    assert isinstance(json.loads(result.stdout), dict)


def test_tcp_with_api_key(stub: StubDaemon, maictl, tmp_path: Path) -> None:
    stub.api_key = "s" * 40
    audio = tmp_path / "a.ogg"
    audio.write_bytes(b"OggS" + bytes(1000))
    result = maictl("submit", str(audio), "--wait", env={"MAIE_URL": stub.url, "MAIE_API_KEY": "s" * 40})
    assert result.exit_code == 0, result.stderr
    assert result.stdout == TRANSCRIPT + "\n"
    assert stub.uploads[0].size == 1004


def test_task_ids_cannot_change_the_route(stub: StubDaemon, maictl) -> None:
    result = maictl("status", "../tasks")
    assert result.exit_code == 4
    assert ("GET", "/v1/status/../tasks", {}) in stub.requests


def test_an_unwritable_output_is_one_line_not_a_traceback(stub: StubDaemon, maictl) -> None:
    task_id = complete_task(stub)
    result = maictl("result", task_id, "-o", "/dev/full")  # every write fails with ENOSPC
    assert result.exit_code == 74
    assert result.stderr == "maictl: error: IO_ERROR: No space left on device\n"


def test_help_and_version_exit_0(maictl) -> None:
    assert maictl("--version").stdout.strip() == "maictl, version 0.1.0"
    helped = maictl("submit", "--help")
    assert helped.exit_code == 0 and "--vocabulary" in helped.stdout
