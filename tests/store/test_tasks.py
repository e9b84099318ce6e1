"""The store contract on both engines (SQLite files in a temp dir, a real PostgreSQL server), plus the
SQLite engine's own pragmas and schema guard."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from maied.domain import PipelineOutput, TaskKind, TaskRequest, TaskStatus
from maied.errors import QueueFull, TaskNotCancellable, TaskNotFinished, TaskNotFound
from maied.store import NewTask, TaskQueue, TaskStore
from maied.store.schema import SCHEMA_VERSION
from tests.store.conftest import OpenQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(open_queue: OpenQueue, clock: Clock) -> TaskQueue:
    return open_queue(clock=clock)


def new(task_id: str, owner: str = "uid:1000") -> NewTask:
    return NewTask(id=task_id, kind=TaskKind.AUDIO, owner=owner, request=TaskRequest(), audio_path=f"/a/{task_id}")


def test_pragmas_and_schema_version(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "maie.db")
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    store.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "maie.db"
    TaskStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        TaskStore(path)


def test_fifo_claim_and_positions(store: TaskQueue) -> None:
    for i in range(3):
        store.submit(new(f"t{i}"))
    assert [store.queue_position(store.require(f"t{i}")) for i in range(3)] == [1, 2, 3]
    claimed = store.claim_next()
    assert claimed is not None and claimed.id == "t0" and claimed.status == TaskStatus.PREPROCESSING
    assert store.queue_position(store.require("t1")) == 1
    assert store.queue_position(store.require("t0")) is None


def test_concurrent_claims_never_share_a_task(open_queue: OpenQueue) -> None:
    seed = open_queue()
    for i in range(60):
        seed.submit(new(f"t{i}"))
    claimed: list[str] = []
    lock = threading.Lock()
    stores = [open_queue(worker=f"h{n}") for n in range(4)]

    def claimer(s: TaskQueue) -> None:
        while (rec := s.claim_next()) is not None:
            with lock:
                claimed.append(rec.id)

    threads = [threading.Thread(target=claimer, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(f"t{i}" for i in range(60))


def test_queue_full(store: TaskQueue) -> None:
    store.submit(new("a"), max_pending=2)
    store.submit(new("b"), max_pending=2)
    with pytest.raises(QueueFull):
        store.submit(new("c"), max_pending=2)
    store.claim_next()
    store.submit(new("c"), max_pending=2)  # a running task does not count


def test_finish_happens_once(store: TaskQueue) -> None:
    store.submit(new("a"))
    store.claim_next()
    assert store.set_stage("a", TaskStatus.PROCESSING_ASR, input_duration=9.5)
    assert store.complete("a", PipelineOutput(results={"raw_transcript": "hi"}))
    assert not store.fail("a", "JOB_TIMEOUT", "late")
    rec = store.require("a")
    assert rec.status == TaskStatus.COMPLETE and rec.results == {"raw_transcript": "hi"}
    assert rec.input_duration == 9.5 and rec.error_code is None
    assert not store.set_stage("a", TaskStatus.PROCESSING_LLM)


def test_crash_requeues_then_fails_at_max_attempts(store: TaskQueue) -> None:
    store.submit(new("a"))
    store.claim_next()
    assert store.requeue_after_crash("a", max_attempts=2, reason="SIGSEGV") == TaskStatus.PENDING
    store.claim_next()
    assert store.requeue_after_crash("a", max_attempts=2, reason="SIGSEGV") == TaskStatus.FAILED
    rec = store.require("a")
    assert rec.error_code == "WORKER_CRASHED" and "SIGSEGV" in (rec.error or "")


def test_recover_interrupted_requeues_without_attempts_up_to_max(store: TaskQueue) -> None:
    store.submit(new("a"))
    for _ in range(3):
        store.claim_next()
        assert store.recover_interrupted(max_requeues=3) == {"a": TaskStatus.PENDING}
    store.claim_next()
    assert store.recover_interrupted(max_requeues=3) == {"a": TaskStatus.FAILED}
    rec = store.require("a")
    assert rec.attempts == 0 and rec.requeues == 3 and rec.error_code == "WORKER_CRASHED"


def test_cancel_pending_running_and_terminal(store: TaskQueue) -> None:
    store.submit(new("p"))
    store.submit(new("r"))
    assert store.request_cancel("p").status == TaskStatus.CANCELLED
    store.claim_next()
    rec = store.request_cancel("r")
    assert rec.status == TaskStatus.PREPROCESSING and rec.cancel_requested
    assert store.mark_cancelled("r")
    with pytest.raises(TaskNotCancellable):
        store.request_cancel("r")
    with pytest.raises(TaskNotFound):
        store.request_cancel("nope")


def test_delete_only_finished(store: TaskQueue) -> None:
    store.submit(new("a"))
    store.claim_next()
    with pytest.raises(TaskNotFinished):
        store.delete("a")
    store.fail("a", "AUDIO_DECODE_ERROR", "bad")
    store.delete("a")
    assert store.get("a") is None


def test_expire_results_keeps_the_row(store: TaskQueue, clock: Clock) -> None:
    store.submit(new("a"))
    store.claim_next()
    store.complete("a", PipelineOutput(results={"raw_transcript": "x"}))
    clock.now += 100
    assert store.expire_results(200) == []
    clock.now += 200
    assert store.expire_results(200) == ["a"]
    rec = store.require("a")
    assert rec.results is None and rec.results_expired_at is not None


def test_listeners_fire_on_every_status_write(store: TaskQueue) -> None:
    seen: list[tuple[str, TaskStatus]] = []
    store.add_listener(lambda tid, st: seen.append((tid, st)))
    store.submit(new("a"))
    store.claim_next()
    store.set_stage("a", TaskStatus.PROCESSING_ASR)
    store.complete("a", PipelineOutput())
    assert [s for _, s in seen] == [TaskStatus.PENDING, TaskStatus.PREPROCESSING, TaskStatus.PROCESSING_ASR,
                                    TaskStatus.COMPLETE]


def test_list_newest_first_with_cursor(store: TaskQueue) -> None:
    for i in range(5):
        store.submit(new(f"t{i}", owner="uid:1" if i % 2 else "uid:2"))
    page = store.list_tasks(limit=2)
    assert [r.id for r in page] == ["t4", "t3"]
    page2 = store.list_tasks(limit=2, before_seq=page[-1].seq)
    assert [r.id for r in page2] == ["t2", "t1"]
    assert [r.id for r in store.list_tasks(owner="uid:1")] == ["t3", "t1"]
