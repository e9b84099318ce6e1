"""submit / submit-text and --wait against a real server on a real Unix socket."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from maictl_stub import TRANSCRIPT, StubDaemon, status_doc

from maictl.client import ClientError, Connection, MaiedClient
from maictl.wait import follow_task


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    """A real one-second recording made with sox."""
    path = tmp_path / "tone.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(path), "synth", "1", "sine", "440"], check=True)
    return path


def test_submit_prints_the_task_id_and_sends_every_option(stub: StubDaemon, maictl, wav: Path) -> None:
    result = maictl("submit", str(wav), "--features", "raw_transcript,clean_transcript", "-f", "summary",
                    "--template", "meeting-notes", "--backend", "whisper", "--language", "vi",
                    "--vocabulary", "Hà Nội,maie", "--no-vad", "--vad-threshold", "0.4")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "t1\n"
    upload = stub.uploads[0]
    assert upload.fields == {
        "features": ["raw_transcript", "clean_transcript", "summary"], "template_id": ["meeting-notes"],
        "asr_backend": ["whisper"], "language": ["vi"], "vocabulary": ["Hà Nội,maie"],
        "enable_vad": ["false"], "vad_threshold": ["0.4"],
    }
    assert upload.filename == "tone.wav"
    assert upload.content_type in ("audio/x-wav", "audio/wav")
    assert upload.sha256 == hashlib.sha256(wav.read_bytes()).hexdigest()


def test_submit_diarize_with_a_speaker_count(stub: StubDaemon, maictl, wav: Path) -> None:
    assert maictl("submit", str(wav), "--diarize", "--speakers", "3").exit_code == 0
    assert stub.uploads[0].fields == {"enable_diarization": ["true"], "num_speakers": ["3"]}
    refused = maictl("submit", str(wav), "--speakers", "2")
    assert refused.exit_code == 2 and "--speakers needs --diarize" in refused.stderr


def test_submit_sends_only_what_was_given(stub: StubDaemon, maictl, wav: Path) -> None:
    assert maictl("submit", str(wav)).exit_code == 0
    assert stub.uploads[0].fields == {}


def test_submit_json_is_the_daemons_answer(stub: StubDaemon, maictl, wav: Path) -> None:
    result = maictl("submit", str(wav), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"task_id": "t1", "status": "PENDING"}


def test_upload_is_streamed_not_read_whole(stub: StubDaemon, maictl, tmp_path: Path) -> None:
    """A 24 MB file arrives byte-exact while the process never holds more than a few MB of it."""
    big = tmp_path / "big.flac"
    digest = hashlib.sha256()
    with big.open("wb") as fh:
        for _ in range(24):
            block = os.urandom(1 << 20)
            digest.update(block)
            fh.write(block)
    tracemalloc.start()
    try:
        result = maictl("submit", str(big))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0, result.stderr
    assert stub.uploads[0].size == 24 << 20
    assert stub.uploads[0].sha256 == digest.hexdigest()
    assert peak < 6 << 20, f"peak Python memory {peak / 1e6:.1f} MB while uploading 24 MB"


def test_wait_prints_one_plain_line_per_change_then_the_transcript(stub: StubDaemon, maictl, wav: Path) -> None:
    result = maictl("submit", str(wav), "--wait")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == TRANSCRIPT + "\n"
    lines = result.stderr.splitlines()
    states = [re.sub(r"^\d\d:\d\d:\d\d t1 ", "", line) for line in lines]
    assert states == ["PENDING, queue position 1", "PREPROCESSING", "PROCESSING_ASR", "COMPLETE"], lines
    assert "\x1b[" not in result.stderr  # no terminal control codes when piped
    assert set(stub.waits()) == {"30"}  # the long-poll, not a busy loop
    assert len(stub.waits()) == 5


def test_wait_json_is_the_final_status_document(stub: StubDaemon, maictl, wav: Path) -> None:
    result = maictl("submit", str(wav), "--wait", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["status"] == "COMPLETE"
    assert doc["results"]["raw_transcript"] == TRANSCRIPT


def test_wait_prints_the_summary_after_the_transcript(stub: StubDaemon, maictl, wav: Path) -> None:
    summary = {"title": "Họp", "action_items": ["gửi báo cáo"]}
    stub.next_script = [status_doc("t1", "COMPLETE", results={"clean_transcript": "Xin chào.",
                                                               "raw_transcript": "xin chào", "summary": summary})]
    result = maictl("submit", str(wav), "-f", "clean_transcript,summary", "-t", "meeting-notes", "--wait")
    assert result.exit_code == 0
    text, _, rest = result.stdout.partition("\n\n")
    assert text == "Xin chào."  # the cleaned transcript wins over the raw one
    assert json.loads(rest) == summary


def test_a_failed_task_exits_1_with_its_code_and_stage(stub: StubDaemon, maictl, wav: Path) -> None:
    stub.next_script = [status_doc("t1", "PROCESSING_ASR"),
                        status_doc("t1", "FAILED", stage="PROCESSING_ASR", error_code="ASR_PROCESSING_ERROR",
                                   error="decoder ran out of memory")]
    result = maictl("submit", str(wav), "--wait")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "maictl: error: ASR_PROCESSING_ERROR: task t1 failed in PROCESSING_ASR: decoder ran out of memory")


def test_a_cancelled_task_exits_1(stub: StubDaemon, maictl, wav: Path) -> None:
    stub.next_script = [status_doc("t1", "PENDING"), status_doc("t1", "CANCELLED")]
    result = maictl("submit", str(wav), "--wait", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == "CANCELLED"  # --json still prints the document
    assert result.stderr.splitlines()[-1] == "maictl: error: CANCELLED: task t1 was cancelled"


def test_submit_text_from_stdin(stub: StubDaemon, maictl) -> None:
    result = maictl("submit-text", "-", "-f", "clean_transcript", input="ừ thì hôm nay chúng ta họp\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "t1\n"
    assert stub.texts == [{"text": "ừ thì hôm nay chúng ta họp\n", "features": ["clean_transcript"]}]


def test_submit_text_from_a_file_with_wait(stub: StubDaemon, maictl, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("biên bản cuộc họp", encoding="utf-8")
    result = maictl("submit-text", str(source), "-f", "summary", "-t", "meeting-notes", "--wait", "--json")
    assert result.exit_code == 0
    assert stub.texts[0] == {"text": "biên bản cuộc họp", "features": ["summary"], "template_id": "meeting-notes"}
    assert json.loads(result.stdout)["status"] == "COMPLETE"


def test_summarize_a_task_again_with_wait(stub: StubDaemon, maictl) -> None:
    source = stub.add_task([status_doc("t1", "FAILED", error_code="LLM_PROCESSING_ERROR", error="bad summary",
                                       results={"raw_transcript": "hello"})])
    summary = {"title": "Họp"}
    stub.next_script = [status_doc("t2", "PENDING"),
                        status_doc("t2", "COMPLETE", results={"summary": summary},
                                   warnings=[{"code": "EMBEDDED_MODEL", "message": "a small model"}])]
    result = maictl("summarize", source, "--template", "meeting_notes_v1", "--wait")
    assert result.exit_code == 0, result.stderr
    assert stub.texts == [{"source": "t1", "features": ["summary"], "template_id": "meeting_notes_v1"}]
    assert json.loads(result.stdout) == summary
    assert "maictl: warning: EMBEDDED_MODEL: a small model" in result.stderr.splitlines()


def test_summarize_without_wait_prints_the_new_task_and_needs_a_template(stub: StubDaemon, maictl) -> None:
    source = stub.add_task()
    assert maictl("summarize", source).exit_code == 2
    result = maictl("summarize", source, "-t", "meeting_notes_v1", "-f", "clean_transcript,summary", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"task_id": "t2", "status": "PENDING"}
    assert stub.texts[0]["features"] == ["clean_transcript", "summary"]
    assert maictl("summarize", "nope", "-t", "meeting_notes_v1").exit_code == 4


def test_status_wait_follows_an_existing_task(stub: StubDaemon, maictl) -> None:
    task_id = stub.add_task()
    result = maictl("status", task_id, "--wait", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["status"] == "COMPLETE"
    assert result.stderr.count("\n") == 4


def test_wait_shows_the_tasks_warnings_on_stderr(stub: StubDaemon, maictl, wav: Path) -> None:
    stub.next_script = [status_doc("t1", "COMPLETE", results={"raw_transcript": ""},
                                   warnings=[{"code": "NO_SPEECH", "message": "no speech was found"}])]
    result = maictl("submit", str(wav), "--wait")
    assert result.exit_code == 0
    assert result.stdout == "\n"
    assert "maictl: warning: NO_SPEECH: no speech was found" in result.stderr.splitlines()


def test_wait_json_shows_the_warnings_on_stderr_too(stub: StubDaemon, maictl, wav: Path) -> None:
    stub.next_script = [status_doc("t1", "COMPLETE", results={"raw_transcript": "hello"},
                                   warnings=[{"code": "EMBEDDED_MODEL", "message": "a small model"}])]
    result = maictl("submit", str(wav), "--wait", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["results"]["raw_transcript"] == "hello"
    assert "maictl: warning: EMBEDDED_MODEL: a small model" in result.stderr.splitlines()


def test_wait_rides_out_a_daemon_restart(stub: StubDaemon) -> None:
    """A 503 (shutting down) and a dropped connection during the long-poll are retried, not fatal."""
    task_id = stub.add_task()
    stub.poll_failures = ["503", "drop"]
    delays: list[float] = []
    seen: list[str] = []
    with MaiedClient(Connection(socket=stub.socket_path)) as client:
        final = follow_task(client, task_id, lambda doc: seen.append(doc["status"]), sleep=delays.append)
    assert final["status"] == "COMPLETE"
    assert seen == ["PENDING", "PREPROCESSING", "PROCESSING_ASR", "COMPLETE"]
    assert delays == [0.5, 1.0]


def test_wait_gives_up_on_a_daemon_that_stays_away(stub: StubDaemon) -> None:
    task_id = stub.add_task()
    stub.poll_failures = ["drop"] * 10
    delays: list[float] = []
    with MaiedClient(Connection(socket=stub.socket_path)) as client, pytest.raises(ClientError) as caught:
        follow_task(client, task_id, lambda doc: None, sleep=delays.append)
    assert caught.value.code == "UNREACHABLE"
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert len(stub.poll_failures) == 4  # 6 tries, then it gives up
