"""TaskStore: the embedded queue. One SQLite file, WAL, synchronous=FULL, one writer (one host).

Each method runs in its own transaction; claims use BEGIN IMMEDIATE + UPDATE ... RETURNING so two claimers
can never take the same task. The queue's logic itself is shared with PostgreSQL (`sqlbase.py`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from maied.store.schema import migrate
from maied.store.sqlbase import SqlTaskStore


class TaskStore(SqlTaskStore):
    engine = "sqlite"
    shared = False

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time, worker: str = "maie-worker",
                 lease_seconds: float = 60.0):
        super().__init__(clock=clock, worker=worker, lease_seconds=lease_seconds)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA busy_timeout=30000")
        migrate(self.conn)

    def close(self) -> None:
        self.conn.close()

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """One host: every change is made here and already reaches the listeners."""

    # --- engine hooks ---------------------------------------------------------------------------
    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, args)

    @contextmanager
    def _write(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield None
        except BaseException:
            if self.conn.in_transaction:  # SQLite already rolled back after SQLITE_FULL / IOERR
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- engine specifics -----------------------------------------------------------------------
    def integrity_ok(self) -> bool:
        return bool(self.conn.execute("PRAGMA quick_check").fetchone()[0] == "ok")

    @contextmanager
    def maintenance_lock(self, name: str) -> Iterator[bool]:
        """One host: the database file's own locking serializes writers; nothing else to hold."""
        yield True

    def space_reclaimable(self) -> tuple[int, int]:
        """(bytes on the free list, bytes of the whole database file)."""
        page = int(self.conn.execute("PRAGMA page_size").fetchone()[0])
        free = int(self.conn.execute("PRAGMA freelist_count").fetchone()[0])
        pages = int(self.conn.execute("PRAGMA page_count").fetchone()[0])
        return free * page, pages * page

    def compact(self) -> None:
        self.conn.execute("VACUUM")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


SqliteTaskStore = TaskStore
