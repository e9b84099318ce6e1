"""Tasks run in two parts (ASR, then LLM) when the models take turns on the GPU: the store keeps the ASR
part durably, hands out each part's work in order, and never loses a waiting task."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from maied.domain import STAGE_WAITING_FOR_LLM, PipelineOutput, TaskKind, TaskRequest, TaskStatus
from maied.store import NewTask, TaskQueue, TaskStore
from maied.store.schema import MIGRATIONS
from tests.store.conftest import OpenQueue

SUMMARY = TaskRequest(features=["raw_transcript", "summary"], template_id="general-summary-en")
PART = {"output": {"results": {"raw_transcript": "hello"}, "metrics": {}, "versions": {}, "warnings": []},
        "text": "hello", "asr_punctuates": True, "elapsed": 1.5}


@pytest.fixture
def store(open_queue: OpenQueue) -> TaskQueue:
    return open_queue()


def audio(task_id: str, request: TaskRequest = SUMMARY) -> NewTask:
    return NewTask(id=task_id, kind=TaskKind.AUDIO, owner="uid:1", request=request, audio_path=f"/a/{task_id}")


def text(task_id: str) -> NewTask:
    return NewTask(id=task_id, kind=TaskKind.TEXT, owner="uid:1", request=SUMMARY, input_text="some text")


def test_each_part_claims_its_own_work_oldest_first(store: TaskQueue) -> None:
    store.submit(audio("a1"))
    store.submit(text("t1"))
    store.submit(audio("a2"))
    assert store.waiting_work() == {"asr": 2, "llm": 1}
    assert store.claim_next("llm").id == "t1"
    first = store.claim_next("asr")
    assert first.id == "a1" and first.status == TaskStatus.PREPROCESSING
    assert store.claim_next("asr").id == "a2"
    assert store.claim_next("asr") is None and store.claim_next("llm") is None


def test_asr_part_waits_then_goes_on_as_llm_work(store: TaskQueue) -> None:
    store.submit(audio("a1"))
    store.claim_next("asr")
    assert store.save_asr_output("a1", PART)
    waiting = store.require("a1")
    assert (waiting.status, waiting.stage) == (TaskStatus.PROCESSING_ASR, STAGE_WAITING_FOR_LLM)
    assert waiting.asr_output == PART and store.queue_position(waiting) is None
    assert store.waiting_work() == {"asr": 0, "llm": 1}
    claimed = store.claim_next("llm")
    assert claimed.id == "a1" and claimed.status == TaskStatus.PROCESSING_LLM and claimed.asr_output == PART
    assert claimed.started_at == waiting.started_at  # one task, one start
    store.complete("a1", PipelineOutput(results={"raw_transcript": "hello"}))
    assert store.require("a1").asr_output is None  # the part is dropped once the task is finished


def test_waiting_task_is_cancelled_at_once(store: TaskQueue) -> None:
    store.submit(audio("a1"))
    store.claim_next("asr")
    store.save_asr_output("a1", PART)
    assert store.request_cancel("a1").status == TaskStatus.CANCELLED
    assert store.claim_next("llm") is None


def test_restart_keeps_waiting_tasks_in_line_and_requeues_a_cut_llm_part(store: TaskQueue) -> None:
    for task_id in ("a1", "a2"):
        store.submit(audio(task_id))
        store.claim_next("asr")
        store.save_asr_output(task_id, PART)
    store.claim_next("llm")  # a1's LLM part was running when the daemon died
    outcome = store.recover_interrupted(max_requeues=5)
    assert outcome == {"a1": TaskStatus.PENDING}  # a2 was only waiting: untouched, no requeue counted
    assert store.require("a2").requeues == 0
    again = store.claim_next("llm")
    assert again.id == "a1" and again.asr_output == PART  # its ASR is not done twice
    assert store.claim_next("asr") is None


def test_crash_in_llm_part_requeues_it_as_llm_work(store: TaskQueue) -> None:
    store.submit(audio("a1"))
    store.claim_next("asr")
    store.save_asr_output("a1", PART)
    store.claim_next("llm")
    assert store.requeue_after_crash("a1", max_attempts=2, reason="killed") == TaskStatus.PENDING
    assert store.waiting_work() == {"asr": 0, "llm": 1}
    assert store.claim_next().asr_output == PART  # "any" (models together) takes it too


def test_version_1_database_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO tasks (id, kind, owner, status, request, submitted_at) VALUES"
                 " ('old', 'audio', 'uid:1', 'PENDING', '{}', 1.0)")
    conn.commit()
    conn.close()
    store = TaskStore(path)
    try:
        assert store.require("old").asr_output is None
        assert store.claim_next("asr").id == "old"
    finally:
        store.close()


def test_asr_part_kept_before_the_llm_stage_survives_its_failure(store: TaskStore) -> None:
    """A task run whole keeps its ASR part before its LLM stage: a failure there keeps the transcript,
    with the failure beside it."""
    part = {"output": {"results": {"raw_transcript": "hello", "segments": [{"start": 0, "end": 1, "text": "hello"}],
                                   "language": "en"}, "metrics": {"asr_seconds": 0.5},
                       "versions": {"asr_backend": {"name": "whisper"}},
                       "warnings": [{"code": "EMBEDDED_MODEL", "message": "m"}]},
            "text": "hello", "asr_punctuates": True, "elapsed": 1.0}
    store.submit(audio("a1"))
    store.claim_next()
    store.set_stage("a1", TaskStatus.PROCESSING_ASR)
    assert store.keep_asr_output("a1", part)
    assert store.require("a1").status == TaskStatus.PROCESSING_ASR  # still running, not waiting
    store.set_stage("a1", TaskStatus.PROCESSING_LLM)
    assert store.fail("a1", "LLM_PROCESSING_ERROR", "bad summary", stage="PROCESSING_LLM")
    failed = store.require("a1")
    assert (failed.status, failed.error_code, failed.stage) == (TaskStatus.FAILED, "LLM_PROCESSING_ERROR",
                                                                "PROCESSING_LLM")
    assert failed.results == part["output"]["results"] and failed.metrics == {"asr_seconds": 0.5}
    assert failed.versions == {"asr_backend": {"name": "whisper"}}
    assert failed.warnings == [{"code": "EMBEDDED_MODEL", "message": "m"}] and failed.asr_output is None


def test_crash_after_the_kept_asr_part_requeues_the_llm_part_only(store: TaskStore) -> None:
    store.submit(audio("a1"))
    store.claim_next()
    store.keep_asr_output("a1", PART)
    assert store.requeue_after_crash("a1", max_attempts=2, reason="killed") == TaskStatus.PENDING
    assert store.waiting_work() == {"asr": 0, "llm": 1}
    again = store.claim_next()
    assert again.status == TaskStatus.PROCESSING_LLM and again.asr_output == PART
    assert store.requeue_after_crash("a1", max_attempts=2, reason="killed") == TaskStatus.FAILED
    failed = store.require("a1")
    assert failed.error_code == "WORKER_CRASHED" and failed.results == {"raw_transcript": "hello"}


def test_failure_without_an_asr_part_has_no_results(store: TaskStore) -> None:
    store.submit(audio("a1"))
    store.claim_next()
    assert store.fail("a1", "AUDIO_DECODE_ERROR", "not audio")
    assert store.require("a1").results is None and store.require("a1").warnings == []
