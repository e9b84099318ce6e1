"""Read-only queries maintenance needs, over the TaskStore's own connection (the store stays untouched)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from maied.domain import TERMINAL_STATUSES
from maied.store import TaskRecord

_TERMINAL = tuple(sorted(s.value for s in TERMINAL_STATUSES))
_IN_TERMINAL = "status IN (" + ",".join("?" for _ in _TERMINAL) + ")"


@dataclass(frozen=True)
class ExpiringResults:
    task_id: str
    results_bytes: int
    completed_at: float
    audio_purged: bool


def finished_with_audio(conn: sqlite3.Connection, *, finished_before: float | None = None) -> list[TaskRecord]:
    """Finished tasks whose audio was not purged yet, oldest finish first."""
    sql = f"SELECT * FROM tasks WHERE {_IN_TERMINAL} AND audio_purged_at IS NULL AND completed_at IS NOT NULL"
    args: tuple[object, ...] = _TERMINAL
    if finished_before is not None:
        sql += " AND completed_at < ?"
        args = (*args, finished_before)
    rows = conn.execute(sql + " ORDER BY completed_at, seq", args).fetchall()
    return [TaskRecord.from_row(r) for r in rows]


def results_to_expire(conn: sqlite3.Connection, finished_before: float) -> list[ExpiringResults]:
    """Finished tasks past the cutoff whose results are still stored, oldest first."""
    sql = (
        "SELECT id, coalesce(length(CAST(results AS BLOB)), 0), completed_at, audio_purged_at IS NOT NULL"
        f" FROM tasks WHERE {_IN_TERMINAL} AND results_expired_at IS NULL AND completed_at < ?"
        " ORDER BY completed_at, seq"
    )
    rows = conn.execute(sql, (*_TERMINAL, finished_before)).fetchall()
    return [ExpiringResults(r[0], int(r[1]), float(r[2]), bool(r[3])) for r in rows]


def task_statuses(conn: sqlite3.Connection) -> dict[str, str]:
    """Every task id with its status (to tell an orphaned audio folder from a live one)."""
    return {r[0]: r[1] for r in conn.execute("SELECT id, status FROM tasks")}


def free_bytes(conn: sqlite3.Connection) -> tuple[int, int]:
    """(bytes on the free list, bytes of the whole database file)."""
    page = int(conn.execute("PRAGMA page_size").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    return free * page, pages * page
