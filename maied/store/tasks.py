"""TaskStore: the durable queue. One SQLite file, WAL, synchronous=FULL, one writer.

Every status write notifies the listeners (the daemon's long-poll condition). Methods are small and each
runs in its own transaction; claims use BEGIN IMMEDIATE + UPDATE ... RETURNING so two claimers can never
take the same task.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from maied.domain import (
    RUNNING_STATUSES,
    STAGE_WAITING_FOR_LLM,
    TERMINAL_STATUSES,
    PipelineOutput,
    TaskStatus,
)
from maied.errors import WORKER_CRASHED, QueueFull, TaskNotCancellable, TaskNotFinished, TaskNotFound
from maied.store.records import NewTask, TaskRecord
from maied.store.schema import migrate

Listener = Callable[[str, TaskStatus], None]
Phase = Literal["any", "asr", "llm"]
_WAITING = f"(status = 'PROCESSING_ASR' AND stage = '{STAGE_WAITING_FOR_LLM}')"
_CLAIMABLE = {
    # Work for the ASR part: audio not yet transcribed.
    "asr": "(status = 'PENDING' AND kind = 'audio' AND asr_output IS NULL)",
    # Work for the LLM part: text tasks, and audio whose ASR part is stored (waiting, or requeued).
    "llm": f"((status = 'PENDING' AND (kind = 'text' OR asr_output IS NOT NULL)) OR {_WAITING})",
}
_CLAIMABLE["any"] = f"({_CLAIMABLE['asr']} OR {_CLAIMABLE['llm']})"
_RUNNING = tuple(s.value for s in RUNNING_STATUSES)
_TERMINAL = tuple(s.value for s in TERMINAL_STATUSES)


def _marks(values: tuple[str, ...]) -> str:
    return ",".join("?" for _ in values)


class TaskStore:
    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._listeners: list[Listener] = []
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA busy_timeout=30000")
        migrate(self.conn)

    def close(self) -> None:
        self.conn.close()

    # --- plumbing -------------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            if self.conn.in_transaction:  # SQLite already rolled back after SQLITE_FULL / IOERR
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _notify(self, task_id: str, status: TaskStatus) -> None:
        for listener in self._listeners:
            listener(task_id, status)

    def _one(self, sql: str, args: tuple[Any, ...]) -> TaskRecord | None:
        row = self.conn.execute(sql, args).fetchone()
        return TaskRecord.from_row(row) if row else None

    # --- submit and read ------------------------------------------------------------------------
    def submit(self, task: NewTask, *, max_pending: int | None = None) -> TaskRecord:
        """Insert a PENDING task; QueueFull when max_pending PENDING tasks already wait."""
        with self._write() as c:
            if max_pending is not None:
                pending = c.execute("SELECT count(*) FROM tasks WHERE status = 'PENDING'").fetchone()[0]
                if pending >= max_pending:
                    raise QueueFull(f"the queue is full ({pending} tasks waiting)", details={"pending": pending})
            c.execute(
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
        if status:
            where.append("status = ?")
            args.append(status)
        if owner is not None:
            where.append("owner = ?")
            args.append(owner)
        if before_seq is not None:
            where.append("seq < ?")
            args.append(before_seq)
        sql = f"SELECT * FROM tasks WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?"
        return [TaskRecord.from_row(r) for r in self.conn.execute(sql, (*args, limit))]

    def queue_position(self, record: TaskRecord) -> int | None:
        """1 = next to run; None unless PENDING."""
        if record.status != TaskStatus.PENDING:
            return None
        sql = "SELECT count(*) FROM tasks WHERE status = 'PENDING' AND seq < ?"
        return int(self.conn.execute(sql, (record.seq,)).fetchone()[0]) + 1

    def pending_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM tasks WHERE status = 'PENDING'").fetchone()[0])

    def count_by_status(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, count(*) FROM tasks GROUP BY status").fetchall()
        counts = {s.value: 0 for s in TaskStatus}
        counts.update({r[0]: r[1] for r in rows})
        return counts

    # --- the worker's side ----------------------------------------------------------------------
    def claim_next(self, phase: Phase = "any") -> TaskRecord | None:
        """Atomically take the oldest task with work of `phase` and return it. A task starts in
        PREPROCESSING; one whose ASR part is stored goes on in PROCESSING_LLM."""
        with self._write() as c:
            row = c.execute(
                "UPDATE tasks SET status = CASE WHEN asr_output IS NULL THEN 'PREPROCESSING' ELSE 'PROCESSING_LLM' END,"
                " stage = CASE WHEN asr_output IS NULL THEN 'PREPROCESSING' ELSE 'PROCESSING_LLM' END,"
                " started_at = coalesce(started_at, ?), cancel_requested = 0"
                f" WHERE seq = (SELECT seq FROM tasks WHERE {_CLAIMABLE[phase]} ORDER BY seq LIMIT 1) RETURNING *",
                (self._clock(),),
            ).fetchone()
        if row is None:
            return None
        record = TaskRecord.from_row(row)
        self._notify(record.id, record.status)
        return record

    def waiting_work(self) -> dict[str, int]:
        """How many tasks wait for each part: {"asr": n, "llm": m}."""
        return {phase: int(self.conn.execute(f"SELECT count(*) FROM tasks WHERE {_CLAIMABLE[phase]}").fetchone()[0])
                for phase in ("asr", "llm")}

    def save_asr_output(self, task_id: str, asr_output: dict[str, Any]) -> bool:
        """Keep a running task's ASR part; it waits (stage WAITING_FOR_LLM) until the LLM part is claimed."""
        with self._write() as c:
            cur = c.execute(
                f"UPDATE tasks SET status = 'PROCESSING_ASR', stage = ?, asr_output = ?"
                f" WHERE id = ? AND status IN ({_marks(_RUNNING)})",
                (STAGE_WAITING_FOR_LLM, json.dumps(asr_output), task_id, *_RUNNING),
            )
        if cur.rowcount:
            self._notify(task_id, TaskStatus.PROCESSING_ASR)
        return bool(cur.rowcount)

    def set_stage(self, task_id: str, status: TaskStatus, *, input_duration: float | None = None) -> bool:
        """Record the stage a running task reached; False when it is no longer running."""
        with self._write() as c:
            cur = c.execute(
                f"UPDATE tasks SET status = ?, stage = ?, input_duration = coalesce(?, input_duration)"
                f" WHERE id = ? AND status IN ({_marks(_RUNNING)})",
                (status.value, status.value, input_duration, task_id, *_RUNNING),
            )
        if cur.rowcount:
            self._notify(task_id, status)
        return bool(cur.rowcount)

    def complete(self, task_id: str, output: PipelineOutput) -> bool:
        data = output.to_dict()
        return self._finish(
            task_id, TaskStatus.COMPLETE,
            "stage = 'COMPLETE', results = ?, metrics = ?, versions = ?, warnings = ?",
            (json.dumps(data["results"]), json.dumps(data["metrics"]), json.dumps(data["versions"]),
             json.dumps(data["warnings"])),
        )

    def fail(self, task_id: str, code: str, message: str, *, stage: str | None = None,
             warnings: list[dict[str, str]] | None = None) -> bool:
        return self._finish(
            task_id, TaskStatus.FAILED,
            "error_code = ?, error = ?, stage = coalesce(?, stage), warnings = coalesce(?, warnings)",
            (code, message, stage, json.dumps(warnings) if warnings is not None else None),
        )

    def mark_cancelled(self, task_id: str) -> bool:
        return self._finish(task_id, TaskStatus.CANCELLED, "error_code = NULL", ())

    def _finish(self, task_id: str, status: TaskStatus, assignments: str, args: tuple[Any, ...]) -> bool:
        """Move a task that is not yet terminal to a terminal status, exactly once."""
        with self._write() as c:
            cur = c.execute(
                f"UPDATE tasks SET status = ?, completed_at = ?, asr_output = NULL, {assignments}"
                f" WHERE id = ? AND status NOT IN ({_marks(_TERMINAL)})",
                (status.value, self._clock(), *args, task_id, *_TERMINAL),
            )
        if cur.rowcount:
            self._notify(task_id, status)
        return bool(cur.rowcount)

    def requeue_after_crash(self, task_id: str, *, max_attempts: int, reason: str) -> TaskStatus:
        """The worker child died under this task: count it; FAILED with WORKER_CRASHED at the limit."""
        with self._write() as c:
            row = c.execute("UPDATE tasks SET attempts = attempts + 1 WHERE id = ? RETURNING attempts",
                            (task_id,)).fetchone()
        if row is not None and row[0] >= max_attempts:
            msg = f"the worker process died {row[0]} times while running this task (last: {reason})"
            self.fail(task_id, WORKER_CRASHED, msg)
            return TaskStatus.FAILED
        return self._back_to_pending(task_id)

    def requeue_for_shutdown(self, task_id: str) -> TaskStatus:
        """The daemon is stopping: put a running task back without counting an attempt."""
        return self._back_to_pending(task_id)

    def _back_to_pending(self, task_id: str) -> TaskStatus:
        with self._write() as c:
            cur = c.execute(
                f"UPDATE tasks SET status = 'PENDING', started_at = NULL WHERE id = ?"
                f" AND status IN ({_marks(_RUNNING)})",
                (task_id, *_RUNNING),
            )
        if cur.rowcount:
            self._notify(task_id, TaskStatus.PENDING)
            return TaskStatus.PENDING
        return self.require(task_id).status

    def recover_interrupted(self, *, max_requeues: int) -> dict[str, TaskStatus]:
        """At start-up: tasks found mid-processing were cut off by a daemon death; requeue them."""
        rows = self.conn.execute(
            f"SELECT id, requeues, cancel_requested FROM tasks WHERE status IN ({_marks(_RUNNING)})"
            f" AND NOT {_WAITING}", _RUNNING  # a waiting task was not running: it stays in line
        ).fetchall()
        outcome: dict[str, TaskStatus] = {}
        for task_id, requeues, cancel_requested in rows:
            if cancel_requested:
                self.mark_cancelled(task_id)
                outcome[task_id] = TaskStatus.CANCELLED
            elif requeues >= max_requeues:
                msg = f"the daemon stopped {requeues + 1} times while this task ran; giving up"
                self.fail(task_id, WORKER_CRASHED, msg)
                outcome[task_id] = TaskStatus.FAILED
            else:
                with self._write() as c:
                    c.execute("UPDATE tasks SET requeues = requeues + 1 WHERE id = ?", (task_id,))
                outcome[task_id] = self._back_to_pending(task_id)
        return outcome

    # --- the API's side -------------------------------------------------------------------------
    def request_cancel(self, task_id: str) -> TaskRecord:
        """PENDING or waiting for the LLM -> CANCELLED now; running -> flag for the supervisor; terminal -> 409."""
        with self._write() as c:
            record = self._one("SELECT * FROM tasks WHERE id = ?", (task_id,))
            if record is None:
                raise TaskNotFound(f"no task {task_id}")
            if record.status.is_terminal:
                raise TaskNotCancellable(f"task {task_id} is already {record.status.value}")
            if record.status == TaskStatus.PENDING or record.stage == STAGE_WAITING_FOR_LLM:
                c.execute("UPDATE tasks SET status = 'CANCELLED', completed_at = ? WHERE id = ?",
                          (self._clock(), task_id))
            else:
                c.execute("UPDATE tasks SET cancel_requested = 1 WHERE id = ?", (task_id,))
        updated = self.require(task_id)
        self._notify(task_id, updated.status)
        return updated

    def delete(self, task_id: str) -> TaskRecord:
        """Remove a finished task's row (the caller removes its audio); 409 while it runs."""
        with self._write() as c:
            record = self._one("SELECT * FROM tasks WHERE id = ?", (task_id,))
            if record is None:
                raise TaskNotFound(f"no task {task_id}")
            if not record.status.is_terminal:
                raise TaskNotFinished(f"task {task_id} is {record.status.value}: cancel it first")
            c.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
        return record

    # --- retention ------------------------------------------------------------------------------
    def expire_results(self, ttl_seconds: float, *, task_id: str | None = None) -> list[str]:
        """Drop results of tasks finished more than ttl_seconds ago (the row stays); return their ids."""
        cutoff = self._clock() - ttl_seconds
        sql = (f"UPDATE tasks SET results = NULL, results_expired_at = ? WHERE status IN ({_marks(_TERMINAL)})"
               " AND completed_at < ? AND results_expired_at IS NULL")
        args: tuple[Any, ...] = (self._clock(), *_TERMINAL, cutoff)
        if task_id is not None:
            sql += " AND id = ?"
            args = (*args, task_id)
        with self._write() as c:
            rows = c.execute(sql + " RETURNING id", args).fetchall()
        return [r[0] for r in rows]

    def mark_audio_purged(self, task_id: str) -> None:
        with self._write() as c:
            c.execute("UPDATE tasks SET audio_purged_at = ? WHERE id = ?", (self._clock(), task_id))

    # --- counters (model loads, ...) --------------------------------------------------------------
    def bump_counter(self, name: str, by: int = 1) -> None:
        with self._write() as c:
            c.execute("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE"
                      " SET value = value + excluded.value", (name, by))

    def counters(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.conn.execute("SELECT name, value FROM counters")}

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
