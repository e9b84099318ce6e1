"""The queue's logic, written once for both engines (SQL with `?` marks; each engine runs it its own way).

Every status write notifies the listeners (the daemon's long-poll condition, the supervisor). A claim
records the host (`worker`), a fencing token and a lease; worker-side writes given a token change the task
only while that claim holds it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

from maied.domain import (
    RUNNING_STATUSES,
    STAGE_WAITING_FOR_LLM,
    TERMINAL_STATUSES,
    PipelineOutput,
    TaskStatus,
)
from maied.errors import QueueFull, TaskNotCancellable, TaskNotFinished, TaskNotFound
from maied.store.base import ExpiringResults, HostBeat, Listener, Phase
from maied.store.records import NewTask, TaskRecord

_WAITING = f"(status = 'PROCESSING_ASR' AND stage = '{STAGE_WAITING_FOR_LLM}')"
CLAIMABLE = {
    # Work for the ASR part: audio not yet transcribed.
    "asr": "(status = 'PENDING' AND kind = 'audio' AND asr_output IS NULL)",
    # Work for the LLM part: text tasks, and audio whose ASR part is stored (waiting, or requeued).
    "llm": f"((status = 'PENDING' AND (kind = 'text' OR asr_output IS NOT NULL)) OR {_WAITING})",
}
CLAIMABLE["any"] = f"({CLAIMABLE['asr']} OR {CLAIMABLE['llm']})"
_RUNNING = tuple(s.value for s in RUNNING_STATUSES)
_TERMINAL = tuple(sorted(s.value for s in TERMINAL_STATUSES))
_UNHOLD = "worker = NULL, claim_token = NULL, lease_until = NULL"
COPIED_COLUMNS = (
    "id", "kind", "owner", "status", "stage", "request", "audio_path", "input_text", "input_duration",
    "submitted_at", "started_at", "completed_at", "attempts", "requeues", "cancel_requested", "error_code",
    "error", "warnings", "metrics", "versions", "results", "results_expired_at", "audio_purged_at", "asr_output",
    "worker",
)


def marks(values: tuple[str, ...]) -> str:
    return ",".join("?" for _ in values)


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _fenced(token: str | None) -> tuple[str, tuple[Any, ...]]:
    return ("", ()) if token is None else (" AND claim_token = ?", (token,))


class SqlTaskStore:
    """Engine hooks: `_run`, `_write`, `_publish`, `_submit_guard`, and the class attributes below."""

    engine = "sql"
    shared = False
    _CLAIM_LOCK = ""  # PostgreSQL: " FOR UPDATE SKIP LOCKED"
    _ROW_LOCK = ""  # PostgreSQL: " FOR UPDATE"
    _RESULTS_BYTES = "coalesce(length(CAST(results AS BLOB)), 0)"

    def __init__(self, *, clock: Callable[[], float], worker: str, lease_seconds: float):
        self._clock = clock
        self.worker_name = worker
        self.lease_seconds = lease_seconds
        self._listeners: list[tuple[Listener, bool]] = []
        self._started = clock()

    # --- engine hooks ---------------------------------------------------------------------------
    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _publish(self, task_id: str, status: TaskStatus) -> None:
        """Tell other hosts (PostgreSQL NOTIFY); nothing on one host."""

    def _submit_guard(self) -> None:
        """Inside submit's transaction, before counting: serialize the depth check across hosts."""

    def _recover_scope(self) -> tuple[str, tuple[Any, ...]]:
        """Which interrupted tasks recover_interrupted may take: all of them on one host."""
        return "", ()

    # --- plumbing -------------------------------------------------------------------------------
    def add_listener(self, listener: Listener, *, remote: bool = True) -> None:
        """Call `listener` on every status write; with remote=False only on this process's own writes."""
        self._listeners.append((listener, remote))

    def _notify(self, task_id: str, status: TaskStatus) -> None:
        self._publish(task_id, status)
        self._deliver(task_id, status)

    def _deliver(self, task_id: str, status: TaskStatus, *, remote: bool = False) -> None:
        for listener, wants_remote in self._listeners:
            if wants_remote or not remote:
                listener(task_id, status)

    def _deliver_remote(self, task_id: str, status: TaskStatus) -> None:
        """A change another host made (PostgreSQL NOTIFY)."""
        self._deliver(task_id, status, remote=True)

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Mapping[str, Any]]:
        return list(self._run(sql, args).fetchall())

    def _scalar(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        row = self._run(sql, args).fetchone()
        return None if row is None else next(iter(dict(row).values()))

    def _one(self, sql: str, args: tuple[Any, ...]) -> TaskRecord | None:
        row = self._run(sql, args).fetchone()
        return TaskRecord.from_row(row) if row else None

    # --- submit and read ------------------------------------------------------------------------
    def submit(self, task: NewTask, *, max_pending: int | None = None) -> TaskRecord:
        """Insert a PENDING task; QueueFull when max_pending PENDING tasks already wait (on all hosts)."""
        with self._write():
            if max_pending is not None:
                self._submit_guard()
                pending = int(self._scalar("SELECT count(*) AS n FROM tasks WHERE status = 'PENDING'"))
                if pending >= max_pending:
                    raise QueueFull(f"the queue is full ({pending} tasks waiting)", details={"pending": pending})
            self._run(
                "INSERT INTO tasks (id, kind, owner, status, request, audio_path, input_text, input_duration,"
                " submitted_at) VALUES (?, ?, ?, 'PENDING', ?, ?, ?, ?, ?)",
                (task.id, task.kind.value, task.owner, json.dumps(task.request.to_dict()), task.audio_path,
                 task.input_text, task.input_duration, self._clock()),
            )
        self._notify(task.id, TaskStatus.PENDING)
        return self.require(task.id)

    def get(self, task_id: str) -> TaskRecord | None:
        return self._one("SELECT * FROM tasks WHERE id = ?", (task_id,))

    def require(self, task_id: str) -> TaskRecord:
        record = self.get(task_id)
        if record is None:
            raise TaskNotFound(f"no task {task_id}")
        return record

    def list_tasks(self, *, status: str | None = None, owner: str | None = None, limit: int = 50,
                   before_seq: int | None = None) -> list[TaskRecord]:
        """Newest first; `before_seq` is the cursor (the seq of the last task of the previous page)."""
        where: list[str] = ["1=1"]
        args: list[object] = []
        for column, value in (("status", status or None), ("owner", owner)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if before_seq is not None:
            where.append("seq < ?")
            args.append(before_seq)
        sql = f"SELECT * FROM tasks WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?"
        return [TaskRecord.from_row(r) for r in self._rows(sql, (*args, limit))]

    def queue_position(self, record: TaskRecord) -> int | None:
        """1 = next to run; None unless PENDING."""
        if record.status != TaskStatus.PENDING:
            return None
        sql = "SELECT count(*) AS n FROM tasks WHERE status = 'PENDING' AND seq < ?"
        return int(self._scalar(sql, (record.seq,))) + 1

    def pending_count(self) -> int:
        return int(self._scalar("SELECT count(*) AS n FROM tasks WHERE status = 'PENDING'"))

    def count_by_status(self) -> dict[str, int]:
        rows = self._rows("SELECT status, count(*) AS n FROM tasks GROUP BY status")
        counts = {s.value: 0 for s in TaskStatus}
        counts.update({r["status"]: int(r["n"]) for r in rows})
        return counts

    def pending_ids(self, limit: int) -> list[str]:
        sql = "SELECT id FROM tasks WHERE status = 'PENDING' ORDER BY seq LIMIT ?"
        return [r["id"] for r in self._rows(sql, (limit,))]

    def task_ids(self) -> set[str]:
        return {r["id"] for r in self._rows("SELECT id FROM tasks")}

    def task_statuses(self) -> dict[str, str]:
        """Every task id with its status (to tell an orphaned audio folder from a live one)."""
        return {r["id"]: r["status"] for r in self._rows("SELECT id, status FROM tasks")}

    def db_ok(self) -> bool:
        try:
            self._rows("SELECT 1 AS one FROM tasks LIMIT 1")
            return True
        except Exception:
            return False

    # --- the worker's side ----------------------------------------------------------------------
    def claim_next(self, phase: Phase = "any") -> TaskRecord | None:
        """Atomically take the oldest task with work of `phase` and return it. A task starts in
        PREPROCESSING; one whose ASR part is stored goes on in PROCESSING_LLM."""
        now = self._clock()
        with self._write():
            row = self._run(
                "UPDATE tasks SET status = CASE WHEN asr_output IS NULL THEN 'PREPROCESSING' ELSE 'PROCESSING_LLM' END,"
                " stage = CASE WHEN asr_output IS NULL THEN 'PREPROCESSING' ELSE 'PROCESSING_LLM' END,"
                " started_at = coalesce(started_at, ?), cancel_requested = 0, worker = ?, claim_token = ?,"
                " lease_until = ?"
                f" WHERE seq = (SELECT seq FROM tasks WHERE {CLAIMABLE[phase]} ORDER BY seq LIMIT 1{self._CLAIM_LOCK})"
                " RETURNING *",
                (now, self.worker_name, uuid.uuid4().hex, now + self.lease_seconds),
            ).fetchone()
        if row is None:
            return None
        record = TaskRecord.from_row(row)
        self._notify(record.id, record.status)
        return record

    def waiting_work(self) -> dict[str, int]:
        """How many tasks wait for each part: {"asr": n, "llm": m}."""
        return {phase: int(self._scalar(f"SELECT count(*) AS n FROM tasks WHERE {CLAIMABLE[phase]}"))
                for phase in ("asr", "llm")}

    def renew_lease(self, task_id: str, token: str) -> bool:
        """Push the lease of a task this host still holds; False when the claim was lost."""
        with self._write():
            cur = self._run(f"UPDATE tasks SET lease_until = ? WHERE id = ? AND claim_token = ?"
                            f" AND status IN ({marks(_RUNNING)})",
                            (self._clock() + self.lease_seconds, task_id, token, *_RUNNING))
        return bool(cur.rowcount)

    def save_asr_output(self, task_id: str, asr_output: dict[str, Any], *, token: str | None = None) -> bool:
        """Keep a running task's ASR part; it waits (stage WAITING_FOR_LLM) until the LLM part is claimed."""
        fence, fargs = _fenced(token)
        with self._write():
            cur = self._run(
                "UPDATE tasks SET status = 'PROCESSING_ASR', stage = ?, asr_output = ?, claim_token = NULL,"
                f" lease_until = NULL WHERE id = ? AND status IN ({marks(_RUNNING)}){fence}",
                (STAGE_WAITING_FOR_LLM, json.dumps(asr_output), task_id, *_RUNNING, *fargs),
            )
        if cur.rowcount:
            self._notify(task_id, TaskStatus.PROCESSING_ASR)
        return bool(cur.rowcount)

    def keep_asr_output(self, task_id: str, asr_output: dict[str, Any], *, token: str | None = None) -> bool:
        """Keep a running task's ASR part while it goes on to its LLM stage: a failure keeps its transcript
        (see `fail`), a crash or restart requeues it to the LLM part only."""
        fence, fargs = _fenced(token)
        with self._write():
            cur = self._run(f"UPDATE tasks SET asr_output = ? WHERE id = ? AND status IN ({marks(_RUNNING)}){fence}",
                            (json.dumps(asr_output), task_id, *_RUNNING, *fargs))
        return bool(cur.rowcount)

    def set_stage(self, task_id: str, status: TaskStatus, *, input_duration: float | None = None,
                  token: str | None = None) -> bool:
        """Record the stage a running task reached; False when it is no longer running (or not ours)."""
        fence, fargs = _fenced(token)
        with self._write():
            cur = self._run(
                "UPDATE tasks SET status = ?, stage = ?, input_duration = coalesce(?, input_duration)"
                f" WHERE id = ? AND status IN ({marks(_RUNNING)}){fence}",
                (status.value, status.value, input_duration, task_id, *_RUNNING, *fargs),
            )
        if cur.rowcount:
            self._notify(task_id, status)
        return bool(cur.rowcount)

    def complete(self, task_id: str, output: PipelineOutput, *, token: str | None = None) -> bool:
        data = output.to_dict()
        return self._finish(
            task_id, TaskStatus.COMPLETE,
            "results = ?, metrics = ?, versions = ?, warnings = ?",
            (json.dumps(data["results"]), json.dumps(data["metrics"]), json.dumps(data["versions"]),
             json.dumps(data["warnings"])), token,
        )

    def fail(self, task_id: str, code: str, message: str, *, stage: str | None = None,
             warnings: list[dict[str, str]] | None = None, token: str | None = None) -> bool:
        """FAILED with `code`; what the ASR part produced (transcript, segments, language, its metrics,
        versions and warnings) is kept as the task's results. (Only the task's holder writes asr_output, and it
        is the caller: the read below cannot race with a write of it.)"""
        kept = self._kept_asr_output(task_id)
        if warnings is not None or kept["warnings"]:
            warnings = [*kept["warnings"], *(warnings or [])]
        return self._finish(
            task_id, TaskStatus.FAILED,
            "error_code = ?, error = ?, stage = coalesce(?, stage), warnings = coalesce(?, warnings),"
            " results = coalesce(?, results), metrics = coalesce(?, metrics), versions = coalesce(?, versions)",
            (code, message, stage, _dumps(warnings), _dumps(kept["results"]), _dumps(kept["metrics"]),
             _dumps(kept["versions"])), token,
        )

    def _kept_asr_output(self, task_id: str) -> dict[str, Any]:
        """The stored ASR part's output ({results, metrics, versions, warnings}; None/[] when there is none)."""
        value = self._scalar("SELECT asr_output FROM tasks WHERE id = ?", (task_id,))
        part = (json.loads(value) if isinstance(value, str) else value) if value else {}
        output = part.get("output") or {}
        return {"results": output.get("results") or None, "metrics": output.get("metrics") or None,
                "versions": output.get("versions") or None, "warnings": list(output.get("warnings") or [])}

    def mark_cancelled(self, task_id: str, *, token: str | None = None) -> bool:
        return self._finish(task_id, TaskStatus.CANCELLED, "error_code = NULL", (), token)

    def _finish(self, task_id: str, status: TaskStatus, assignments: str, args: tuple[Any, ...],
                token: str | None) -> bool:
        """Move a task that is not yet terminal to a terminal status, exactly once."""
        fence, fargs = _fenced(token)
        with self._write():
            cur = self._run(
                f"UPDATE tasks SET status = ?, completed_at = ?, asr_output = NULL, claim_token = NULL,"
                f" lease_until = NULL, {assignments} WHERE id = ? AND status NOT IN ({marks(_TERMINAL)}){fence}",
                (status.value, self._clock(), *args, task_id, *_TERMINAL, *fargs),
            )
        if cur.rowcount:
            self._notify(task_id, status)
        return bool(cur.rowcount)

    def requeue_after_crash(self, task_id: str, *, max_attempts: int, reason: str,
                            token: str | None = None) -> TaskStatus:
        """The worker child died under this task: count it; FAILED with WORKER_CRASHED at the limit."""
        fence, fargs = _fenced(token)
        with self._write():
            row = self._run(f"UPDATE tasks SET attempts = attempts + 1 WHERE id = ?{fence} RETURNING attempts",
                            (task_id, *fargs)).fetchone()
        if row is None:
            return self.require(task_id).status
        if row["attempts"] >= max_attempts:
            msg = f"the worker process died {row['attempts']} times while running this task (last: {reason})"
            self.fail(task_id, "WORKER_CRASHED", msg, token=token)
            return self.require(task_id).status
        return self._back_to_pending(task_id, token)

    def requeue_for_shutdown(self, task_id: str, *, token: str | None = None) -> TaskStatus:
        """The daemon is stopping: put a running task back without counting an attempt."""
        return self._back_to_pending(task_id, token)

    def _back_to_pending(self, task_id: str, token: str | None, *, count_requeue: bool = False) -> TaskStatus:
        fence, fargs = _fenced(token)
        bump = ", requeues = requeues + 1" if count_requeue else ""
        with self._write():
            cur = self._run(
                f"UPDATE tasks SET status = 'PENDING', started_at = NULL, {_UNHOLD}{bump} WHERE id = ?"
                f" AND status IN ({marks(_RUNNING)}){fence}",
                (task_id, *_RUNNING, *fargs),
            )
        if cur.rowcount:
            self._notify(task_id, TaskStatus.PENDING)
            return TaskStatus.PENDING
        return self.require(task_id).status

    def recover_interrupted(self, *, max_requeues: int) -> dict[str, TaskStatus]:
        """At start-up: tasks found mid-processing (on one host: all; in a cluster: those this host held)
        were cut off by a daemon death; requeue them."""
        scope, sargs = self._recover_scope()
        rows = self._rows(
            f"SELECT id, requeues, cancel_requested, claim_token FROM tasks WHERE status IN ({marks(_RUNNING)})"
            f" AND NOT {_WAITING}{scope}", (*_RUNNING, *sargs)  # a waiting task was not running: it stays in line
        )
        return {r["id"]: self._requeue_cut_off(r, max_requeues, "the daemon stopped") for r in rows}

    def requeue_expired_leases(self, *, max_requeues: int) -> dict[str, TaskStatus]:
        """Tasks whose host stopped renewing their lease (it died or lost the database): back in line,
        counted like a daemon restart (FAILED WORKER_CRASHED past max_requeues)."""
        rows = self._rows(
            f"SELECT id, requeues, cancel_requested, claim_token FROM tasks WHERE status IN ({marks(_RUNNING)})"
            " AND claim_token IS NOT NULL AND lease_until < ?", (*_RUNNING, self._clock())
        )
        return {r["id"]: self._requeue_cut_off(r, max_requeues, "the host running it stopped renewing its lease")
                for r in rows}

    def _requeue_cut_off(self, row: Mapping[str, Any], max_requeues: int, why: str) -> TaskStatus:
        task_id, token = row["id"], row["claim_token"]
        if row["cancel_requested"]:
            self.mark_cancelled(task_id, token=token)
        elif row["requeues"] >= max_requeues:
            self.fail(task_id, "WORKER_CRASHED", f"{why} {row['requeues'] + 1} times while this task ran; giving up",
                      token=token)
        else:
            return self._back_to_pending(task_id, token, count_requeue=True)
        return self.require(task_id).status

    # --- hosts ----------------------------------------------------------------------------------
    def beat(self, running_task: str | None) -> None:
        with self._write():
            self._run("INSERT INTO hosts (name, heartbeat_at, running_task, started_at) VALUES (?, ?, ?, ?)"
                      " ON CONFLICT (name) DO UPDATE SET heartbeat_at = excluded.heartbeat_at,"
                      " running_task = excluded.running_task, started_at = excluded.started_at",
                      (self.worker_name, self._clock(), running_task, self._started))

    def hosts(self) -> list[HostBeat]:
        rows = self._rows("SELECT name, heartbeat_at, running_task, started_at FROM hosts ORDER BY name")
        return [HostBeat(r["name"], float(r["heartbeat_at"]), r["running_task"], float(r["started_at"]))
                for r in rows]

    def cluster_value(self, key: str, proposed: str) -> str:
        with self._write():
            self._run("INSERT INTO cluster (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, proposed))
        return str(self._scalar("SELECT value FROM cluster WHERE key = ?", (key,)))

    # --- the API's side -------------------------------------------------------------------------
    def request_cancel(self, task_id: str) -> TaskRecord:
        """PENDING or waiting for the LLM -> CANCELLED now; running -> flag for the supervisor; terminal -> 409."""
        with self._write():
            record = self._one(f"SELECT * FROM tasks WHERE id = ?{self._ROW_LOCK}", (task_id,))
            if record is None:
                raise TaskNotFound(f"no task {task_id}")
            if record.status.is_terminal:
                raise TaskNotCancellable(f"task {task_id} is already {record.status.value}")
            if record.status == TaskStatus.PENDING or record.stage == STAGE_WAITING_FOR_LLM:
                self._run("UPDATE tasks SET status = 'CANCELLED', completed_at = ? WHERE id = ?",
                          (self._clock(), task_id))
            else:
                self._run("UPDATE tasks SET cancel_requested = 1 WHERE id = ?", (task_id,))
        updated = self.require(task_id)
        self._notify(task_id, updated.status)
        return updated

    def delete(self, task_id: str) -> TaskRecord:
        """Remove a finished task's row (the caller removes its audio); 409 while it runs."""
        with self._write():
            record = self._one(f"SELECT * FROM tasks WHERE id = ?{self._ROW_LOCK}", (task_id,))
            if record is None:
                raise TaskNotFound(f"no task {task_id}")
            if not record.status.is_terminal:
                raise TaskNotFinished(f"task {task_id} is {record.status.value}: cancel it first")
            self._run("DELETE FROM tasks WHERE id = ?", (task_id,))
        return record

    # --- retention ------------------------------------------------------------------------------
    def expire_results(self, ttl_seconds: float, *, task_id: str | None = None) -> list[str]:
        """Drop results of tasks finished more than ttl_seconds ago (the row stays); return their ids."""
        cutoff = self._clock() - ttl_seconds
        sql = (f"UPDATE tasks SET results = NULL, results_expired_at = ? WHERE status IN ({marks(_TERMINAL)})"
               " AND completed_at < ? AND results_expired_at IS NULL")
        args: tuple[Any, ...] = (self._clock(), *_TERMINAL, cutoff)
        if task_id is not None:
            sql += " AND id = ?"
            args = (*args, task_id)
        with self._write():
            rows = self._run(sql + " RETURNING id", args).fetchall()
        return [r["id"] for r in rows]

    def mark_audio_purged(self, task_id: str) -> None:
        with self._write():
            self._run("UPDATE tasks SET audio_purged_at = ? WHERE id = ?", (self._clock(), task_id))

    def finished_with_audio(self, *, finished_before: float | None = None) -> list[TaskRecord]:
        """Finished tasks whose audio was not purged yet, oldest finish first."""
        sql = (f"SELECT * FROM tasks WHERE status IN ({marks(_TERMINAL)}) AND audio_purged_at IS NULL"
               " AND completed_at IS NOT NULL")
        args: tuple[Any, ...] = _TERMINAL
        if finished_before is not None:
            sql += " AND completed_at < ?"
            args = (*args, finished_before)
        return [TaskRecord.from_row(r) for r in self._rows(sql + " ORDER BY completed_at, seq", args)]

    def results_to_expire(self, finished_before: float) -> list[ExpiringResults]:
        """Finished tasks past the cutoff whose results are still stored, oldest first."""
        sql = (
            f"SELECT id, {self._RESULTS_BYTES} AS size, completed_at, audio_purged_at FROM tasks"
            f" WHERE status IN ({marks(_TERMINAL)}) AND results_expired_at IS NULL AND completed_at < ?"
            " ORDER BY completed_at, seq"
        )
        return [ExpiringResults(r["id"], int(r["size"]), float(r["completed_at"]), r["audio_purged_at"] is not None)
                for r in self._rows(sql, (*_TERMINAL, finished_before))]

    # --- counters (model loads, ...) and moving over ----------------------------------------------
    def bump_counter(self, name: str, by: int = 1) -> None:
        with self._write():
            self._run("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE"
                      " SET value = counters.value + excluded.value", (name, by))

    def counters(self) -> dict[str, int]:
        return {r["name"]: int(r["value"]) for r in self._rows("SELECT name, value FROM counters")}

    def export_rows(self) -> Iterator[dict[str, Any]]:
        """Every task row, oldest first, as {column: value} (for `maied store copy`)."""
        for row in self._rows(f"SELECT {', '.join(COPIED_COLUMNS)} FROM tasks ORDER BY seq"):
            yield dict(row)

    def import_rows(self, rows: Iterable[dict[str, Any]], counters: dict[str, int]) -> int:
        """Insert the tasks not yet here (by id; a running one comes in PENDING) and raise each counter to
        at least the given value. Idempotent: a second run copies nothing. Returns the tasks inserted."""
        sql = (f"INSERT INTO tasks ({', '.join(COPIED_COLUMNS)}) VALUES ({marks(COPIED_COLUMNS)})"
               " ON CONFLICT (id) DO NOTHING")
        inserted = 0
        with self._write():
            for row in rows:
                values = dict(row)
                if values["status"] in _RUNNING and values["stage"] != STAGE_WAITING_FOR_LLM:
                    values.update(status="PENDING", stage=None, started_at=None, worker=None)
                inserted += self._run(sql, tuple(values[c] for c in COPIED_COLUMNS)).rowcount
            for name, value in counters.items():
                self._run("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE"
                          " SET value = CASE WHEN counters.value < excluded.value THEN excluded.value"
                          " ELSE counters.value END", (name, value))
        return inserted


def default_clock() -> float:
    return time.time()
