"""Leases, fencing, hosts and moving over: the store contract several hosts rely on, on both engines."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from maied.domain import PipelineOutput, TaskKind, TaskRequest, TaskStatus
from maied.errors import QueueFull
from maied.store import NewTask, TaskQueue, TaskStore
from tests.postgres_server import PostgresServer
from tests.store.conftest import OpenQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def new(task_id: str) -> NewTask:
    return NewTask(id=task_id, kind=TaskKind.AUDIO, owner="uid:1", request=TaskRequest(), audio_path=f"/a/{task_id}")


def test_claim_records_host_token_and_lease(open_queue: OpenQueue) -> None:
    clock = Clock()
    store = open_queue(clock=clock, worker="h1", lease_seconds=30)
    store.submit(new("a"))
    record = store.claim_next()
    assert record is not None and record.worker == "h1" and record.claim_token
    assert store.require("a").worker == "h1"


def test_a_host_that_lost_its_lease_can_never_write_over_the_task(open_queue: OpenQueue) -> None:
    clock = Clock()
    h1 = open_queue(clock=clock, worker="h1", lease_seconds=30)
    h2 = open_queue(clock=clock, worker="h2", lease_seconds=30)
    h1.submit(new("a"))
    old = h1.claim_next()
    assert old is not None and old.claim_token is not None
    clock.now += 31  # h1 stopped renewing
    assert h2.requeue_expired_leases(max_requeues=5) == {"a": TaskStatus.PENDING}
    new_claim = h2.claim_next()
    assert new_claim is not None and new_claim.worker == "h2" and new_claim.claim_token != old.claim_token
    token = old.claim_token
    assert not h1.renew_lease("a", token)
    assert not h1.set_stage("a", TaskStatus.PROCESSING_ASR, token=token)
    assert not h1.complete("a", PipelineOutput(results={"raw_transcript": "stale"}), token=token)
    assert not h1.fail("a", "JOB_TIMEOUT", "stale", token=token)
    assert not h1.mark_cancelled("a", token=token)
    assert not h1.save_asr_output("a", {"text": "stale"}, token=token)
    assert h1.requeue_after_crash("a", max_attempts=1, reason="x", token=token) == TaskStatus.PREPROCESSING
    assert h1.requeue_for_shutdown("a", token=token) == TaskStatus.PREPROCESSING
    assert h2.complete("a", PipelineOutput(results={"raw_transcript": "fresh"}), token=new_claim.claim_token)
    record = h2.require("a")
    assert record.status == TaskStatus.COMPLETE and record.results == {"raw_transcript": "fresh"}
    assert record.worker == "h2" and record.requeues == 1 and record.attempts == 0


def test_a_renewed_lease_is_not_requeued(open_queue: OpenQueue) -> None:
    clock = Clock()
    store = open_queue(clock=clock, lease_seconds=30)
    store.submit(new("a"))
    record = store.claim_next()
    assert record is not None and record.claim_token is not None
    for _ in range(3):
        clock.now += 20
        assert store.renew_lease("a", record.claim_token)
        assert store.requeue_expired_leases(max_requeues=5) == {}


def test_expired_leases_are_bounded_by_max_requeues(open_queue: OpenQueue) -> None:
    clock = Clock()
    store = open_queue(clock=clock, lease_seconds=10)
    store.submit(new("a"))
    for _ in range(2):
        store.claim_next()
        clock.now += 11
        assert store.requeue_expired_leases(max_requeues=2) == {"a": TaskStatus.PENDING}
    store.claim_next()
    clock.now += 11
    assert store.requeue_expired_leases(max_requeues=2) == {"a": TaskStatus.FAILED}
    record = store.require("a")
    assert record.error_code == "WORKER_CRASHED" and "lease" in (record.error or "")


def test_a_waiting_task_holds_no_lease(open_queue: OpenQueue) -> None:
    clock = Clock()
    store = open_queue(clock=clock, lease_seconds=10)
    store.submit(new("a"))
    record = store.claim_next("asr")
    assert record is not None
    assert store.save_asr_output("a", {"text": "x"}, token=record.claim_token)
    clock.now += 100
    assert store.requeue_expired_leases(max_requeues=5) == {}
    assert store.claim_next("llm") is not None


def test_cancel_from_another_host_reaches_the_running_one(open_queue: OpenQueue) -> None:
    h1, h2 = open_queue(worker="h1"), open_queue(worker="h2")
    h1.submit(new("a"))
    record = h1.claim_next()
    assert record is not None
    assert h2.request_cancel("a").cancel_requested
    assert h1.require("a").cancel_requested
    assert h1.mark_cancelled("a", token=record.claim_token)
    assert h2.require("a").status == TaskStatus.CANCELLED


def test_queue_depth_counts_every_host(open_queue: OpenQueue) -> None:
    h1, h2 = open_queue(worker="h1"), open_queue(worker="h2")
    h1.submit(new("a"), max_pending=2)
    h2.submit(new("b"), max_pending=2)
    with pytest.raises(QueueFull):
        h1.submit(new("c"), max_pending=2)


def test_concurrent_submits_never_pass_the_depth(open_queue: OpenQueue) -> None:
    stores = [open_queue(worker=f"h{n}") for n in range(4)]
    accepted: list[str] = []
    lock = threading.Lock()

    def submitter(n: int, store: TaskQueue) -> None:
        for i in range(10):
            try:
                store.submit(new(f"s{n}-{i}"), max_pending=15)
            except QueueFull:
                continue
            with lock:
                accepted.append(f"s{n}-{i}")

    threads = [threading.Thread(target=submitter, args=(n, s)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(accepted) == 15 == stores[0].pending_count()


def test_hosts_beat_with_their_running_task(open_queue: OpenQueue) -> None:
    h1, h2 = open_queue(worker="h1"), open_queue(worker="h2")
    h1.beat("t1")
    h2.beat(None)
    h1.beat("t2")
    assert [(h.name, h.running_task) for h in h2.hosts()] == [("h1", "t2"), ("h2", None)]


def test_cluster_value_is_set_once(open_queue: OpenQueue) -> None:
    h1, h2 = open_queue(worker="h1"), open_queue(worker="h2")
    assert h1.cluster_value("k", "first") == "first"
    assert h2.cluster_value("k", "second") == "first"


def test_maintenance_lock(open_queue: OpenQueue, engine: str) -> None:
    h1, h2 = open_queue(worker="h1"), open_queue(worker="h2")
    with h1.maintenance_lock("clean") as mine:
        assert mine
        with h2.maintenance_lock("clean") as theirs:
            assert theirs is (engine == "sqlite")  # one host: nothing to exclude
    with h2.maintenance_lock("clean") as theirs:
        assert theirs


def test_copy_from_sqlite_is_idempotent(open_queue: OpenQueue, tmp_path: Path) -> None:
    source = TaskStore(tmp_path / "old.db")
    for i in range(3):
        source.submit(new(f"t{i}"))
    running = source.claim_next()
    assert running is not None
    done = source.claim_next()
    assert done is not None
    source.complete(done.id, PipelineOutput(results={"raw_transcript": "kept"}))
    source.bump_counter("model_loads:asr", 4)
    target = open_queue()
    target.bump_counter("model_loads:asr", 1)
    assert target.import_rows(source.export_rows(), source.counters()) == 3
    assert target.import_rows(source.export_rows(), source.counters()) == 0
    assert target.require(running.id).status == TaskStatus.PENDING  # its host is gone: back in line
    assert target.require(done.id).results == {"raw_transcript": "kept"}
    assert [r.id for r in target.list_tasks()] == ["t2", "t1", "t0"]
    assert target.counters() == {"model_loads:asr": 4}
    assert target.claim_next() is not None
    source.close()


def test_postgresql_restart_is_survived(postgres: PostgresServer, pg_url: str) -> None:
    from maied.store.postgres import PostgresTaskStore

    store = PostgresTaskStore(pg_url, worker="h1")
    try:
        store.submit(new("a"))
        postgres.restart()
        assert store.require("a").status == TaskStatus.PENDING  # a read reconnects
        postgres.restart()
        store.submit(new("b"))  # so does a write
        assert store.pending_count() == 2
    finally:
        store.close()
