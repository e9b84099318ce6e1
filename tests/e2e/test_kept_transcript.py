"""Nothing accepted is lost when a later stage fails: a task whose LLM stage fails, or whose worker child
dies after its ASR, keeps its real transcript (stored, served in every format, printed by `maictl result`)
beside the failure, and `POST /v1/tasks/{id}/summarize` runs its LLM part again (the real LLM) without
redoing the ASR. The ASR is real (embedded Whisper); the LLM faults are the worker's test hooks
(`llmfail-*`, `llmcrash-*`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.e2e.conftest import copy_as
from tests.e2e.daemon_harness import TERMINAL, Daemon, running_daemon
from tests.e2e.test_transcription import maictl
from tests.llm.conftest import BUILTIN_TEMPLATES, backend_missing
from tests.required import skip_unless_required

pytestmark = pytest.mark.slow
SUMMARY = {"features": "raw_transcript,summary", "template_id": "general-summary-en", "language": "en"}


@pytest.fixture(scope="module")
def llm_daemon(models_dir: Path) -> Iterator[Daemon]:
    """LLM features are accepted (the CPU backend is installed); the faults come from the file names."""
    skip_unless_required("cpu", backend_missing("cpu"))
    with running_daemon(MODELS_DIR=str(models_dir), LLM_BACKEND="cpu", MAIE_TEST_HOOKS="1") as daemon:
        yield daemon


def assert_transcript_kept(daemon: Daemon, body: dict[str, Any]) -> None:
    results = body["results"]
    assert results is not None, body
    assert "fox" in results["raw_transcript"].lower() and results["segments"] and results["language"] == "en"
    assert "summary" not in results
    assert body["metrics"]["asr_seconds"] > 0 and body["versions"]["asr_backend"]["name"] == "whisper"
    assert "EMBEDDED_MODEL" in {w["code"] for w in body["warnings"]}  # the ASR part's warning is kept
    task_id = body["task_id"]
    with daemon.client() as c:
        served = {fmt: c.get(f"/v1/tasks/{task_id}/transcript.{fmt}") for fmt in ("txt", "srt", "vtt", "json")}
    assert all(r.status_code == 200 for r in served.values()), {k: r.text for k, r in served.items()}
    assert served["txt"].text.strip() == results["raw_transcript"].strip()
    assert "-->" in served["srt"].text and served["vtt"].text.startswith("WEBVTT")
    assert json.loads(served["json"].text)["text"] == results["raw_transcript"]


def assert_maictl_result(daemon: Daemon, task_id: str, code: str) -> None:
    done = maictl(daemon, "result", task_id)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "fox" in done.stdout.lower()
    errors = [line for line in done.stderr.splitlines() if line.startswith("maictl: error:")]
    assert len(errors) == 1 and code in errors[0], done.stderr
    srt = maictl(daemon, "result", task_id, "--format", "srt")
    assert srt.returncode == 1 and "-->" in srt.stdout and code in srt.stderr


def test_llm_failure_keeps_the_transcript(llm_daemon: Daemon, english_wav: Path, tmp_path: Path) -> None:
    wav = copy_as(english_wav, tmp_path, "llmfail-meeting.wav")
    task_id = llm_daemon.submit(wav, **SUMMARY).json()["task_id"]
    body = llm_daemon.wait_for(task_id, TERMINAL)
    assert (body["status"], body["error_code"], body["stage"]) == ("FAILED", "LLM_PROCESSING_ERROR",
                                                                   "PROCESSING_LLM"), body
    assert_transcript_kept(llm_daemon, body)
    assert_maictl_result(llm_daemon, task_id, "LLM_PROCESSING_ERROR")


def test_worker_crash_after_asr_keeps_the_transcript_and_never_redoes_the_asr(
        llm_daemon: Daemon, english_wav: Path, tmp_path: Path) -> None:
    wav = copy_as(english_wav, tmp_path, "llmcrash-meeting.wav")
    task_id = llm_daemon.submit(wav, **SUMMARY).json()["task_id"]
    body = llm_daemon.wait_for(task_id, TERMINAL)
    assert (body["status"], body["error_code"]) == ("FAILED", "WORKER_CRASHED"), body
    assert "2 times" in body["error"]  # MAX_ATTEMPTS: the retry ran the LLM part only
    assert_transcript_kept(llm_daemon, body)
    statuses = [e["status"] for e in log_events(llm_daemon)
                if e.get("task_id") == task_id and e.get("event") == "task_status"]
    assert statuses.count("PREPROCESSING") == statuses.count("PROCESSING_ASR") == 1, statuses
    assert statuses.count("PENDING") == 2 and statuses[-1] == "FAILED", statuses  # submitted, requeued once
    assert_maictl_result(llm_daemon, task_id, "WORKER_CRASHED")


def test_daemon_killed_in_the_llm_stage_resumes_there_after_its_restart(
        models_dir: Path, english_wav: Path, tmp_path: Path) -> None:
    """kill -9 of the daemon while the LLM stage runs (models together, the default on a CPU host): after the
    restart the task goes on at its LLM stage with the stored ASR part and completes with the real LLM."""
    skip_unless_required("cpu", backend_missing("cpu"))
    wav = copy_as(english_wav, tmp_path, "llmhang-meeting.wav")
    with running_daemon(MODELS_DIR=str(models_dir), LLM_BACKEND="cpu", MAIE_TEST_HOOKS="1") as daemon:
        task_id = daemon.submit(wav, **SUMMARY).json()["task_id"]
        assert daemon.wait_for(task_id, {"PROCESSING_LLM"} | TERMINAL)["status"] == "PROCESSING_LLM"
        daemon.kill9()
        daemon.env.update(MAIE_TEST_HOOKS="0")
        daemon.start()
        body = daemon.wait_for(task_id, TERMINAL, timeout=600)
        events = log_events(daemon)
    assert body["status"] == "COMPLETE" and body["results"]["summary"], body
    assert "fox" in body["results"]["raw_transcript"].lower() and body["metrics"]["asr_seconds"] > 0
    restarted = max(i for i, e in enumerate(events) if e.get("msg") == "maied ready")
    after = [e["status"] for e in events[restarted:] if e.get("task_id") == task_id and e.get("event") == "task_status"]
    assert "PROCESSING_ASR" not in after and after[-1] == "COMPLETE", after


def log_events(daemon: Daemon) -> list[dict[str, Any]]:
    lines = (daemon.state / "logs" / "maied.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_summarize_reruns_the_llm_part_of_a_failed_task_without_its_asr(
        llm_daemon: Daemon, english_wav: Path, tmp_path: Path) -> None:
    wav = copy_as(english_wav, tmp_path, "llmfail-again.wav")
    source = llm_daemon.submit(wav, **SUMMARY).json()["task_id"]
    assert llm_daemon.wait_for(source, TERMINAL)["status"] == "FAILED"
    done = maictl(llm_daemon, "summarize", source, "--template", "general-summary-en", "--wait", "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["status"] == "COMPLETE" and body["source_task_id"] == source, body
    schema = json.loads((BUILTIN_TEMPLATES / "general-summary-en" / "schema.json").read_text())
    jsonschema.validate(body["results"]["summary"], schema)
    assert "asr_backend" not in body["versions"] and body["versions"]["summarization_llm"]["name"] == "llama.cpp"
    warnings = [line for line in done.stderr.splitlines() if line.startswith("maictl: warning: ")]
    assert len(warnings) == len(body["warnings"]) >= 1  # EMBEDDED_MODEL, on stderr although --json
    statuses = {e["status"] for e in log_events(llm_daemon)
                if e.get("task_id") == body["task_id"] and e.get("event") == "task_status"}
    assert "PROCESSING_ASR" not in statuses and "PROCESSING_LLM" in statuses, statuses


def test_summarize_refusals(llm_daemon: Daemon, english_wav: Path, tmp_path: Path) -> None:
    with llm_daemon.client() as c:
        assert c.post("/v1/tasks/nope/summarize", json={"template_id": "general-summary-en"}).status_code == 404
        running = llm_daemon.submit(copy_as(english_wav, tmp_path, "slow3-running.wav")).json()["task_id"]
        r = c.post(f"/v1/tasks/{running}/summarize", json={"template_id": "general-summary-en"})
        assert (r.status_code, r.json()["error"]["code"]) == (409, "TASK_NOT_FINISHED"), r.text
        assert llm_daemon.wait_for(running, TERMINAL)["status"] == "COMPLETE"
        r = c.post(f"/v1/tasks/{running}/summarize", json={})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "TEMPLATE_REQUIRED"), r.text
        r = c.post(f"/v1/tasks/{running}/summarize", json={"template_id": "no-such-template"})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "TEMPLATE_NOT_FOUND"), r.text
        short = llm_daemon.submit(copy_as(english_wav, tmp_path, "crash-always.wav")).json()["task_id"]
        assert llm_daemon.wait_for(short, TERMINAL)["error_code"] == "WORKER_CRASHED"
        r = c.post(f"/v1/tasks/{short}/summarize", json={"template_id": "general-summary-en"})
        assert (r.status_code, r.json()["error"]["code"]) == (409, "NO_TRANSCRIPT"), r.text
