"""PostgresTaskStore: the queue shared by several maied hosts (DATABASE_URL=postgresql://...).

The queue's logic is the same as SQLite's (`sqlbase.py`); this engine adds what several hosts need:
claims with `FOR UPDATE SKIP LOCKED`, the depth check under an advisory transaction lock, NOTIFY on every
status write and a LISTEN thread that hands other hosts' changes to the listeners, advisory locks for
maintenance, and a connection that is opened again after PostgreSQL restarts.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.rows import dict_row

from maied.domain import TaskStatus
from maied.errors import Unavailable
from maied.settings import mask_url_password
from maied.store.pg_listen import CHANNEL, ChangeListener
from maied.store.pg_schema import migrate
from maied.store.sqlbase import SqlTaskStore

log = logging.getLogger(__name__)
SUBMIT_LOCK = 0x6D616965  # "maie": serializes the MAX_QUEUE_DEPTH check of concurrent submits, all hosts
CONNECT_TIMEOUT_SECONDS = 5
# A host cut off from the database must notice within seconds (TCP keepalives, unacknowledged data).
TCP_OPTIONS: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
               "tcp_user_timeout": 10_000}
IDLE_CHECK_SECONDS = 5.0
"""A connection idle this long is probed before use: PostgreSQL may have restarted meanwhile."""


class DatabaseUnavailable(Unavailable, OSError):
    """PostgreSQL cannot be reached: 503 UNAVAILABLE on the API, one clear line for `maied serve`."""


@lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """The shared SQL's `?` marks as psycopg's `%s` (a literal % doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def connect(url: str) -> psycopg.Connection[dict[str, Any]]:
    try:
        return psycopg.connect(url, autocommit=True, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                               **TCP_OPTIONS)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(f"cannot reach the database at {mask_url_password(url)}: {reason}") from None


class PostgresTaskStore(SqlTaskStore):
    engine = "postgresql"
    shared = True
    _CLAIM_LOCK = " FOR UPDATE SKIP LOCKED"
    _ROW_LOCK = " FOR UPDATE"
    _RESULTS_BYTES = "coalesce(octet_length(results), 0)"

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time, worker: str = "maie-worker",
                 lease_seconds: float = 60.0):
        super().__init__(clock=clock, worker=worker, lease_seconds=lease_seconds)
        self.url = url
        self._instance = uuid.uuid4().hex[:12]
        self.conn = connect(url)
        self._last_used = time.monotonic()
        migrate(self.conn)
        self._listener: ChangeListener | None = None

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
        self.conn.close()

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand other hosts' changes (NOTIFY) to the listeners, on `loop`."""
        if self._listener is None:
            self._listener = ChangeListener(self.url, self._instance, self._deliver_remote, loop)
            self._listener.start()
            self._listener.ready.wait(CONNECT_TIMEOUT_SECONDS)

    # --- engine hooks ---------------------------------------------------------------------------
    def _connection(self) -> psycopg.Connection[dict[str, Any]]:
        """The connection, opened anew when PostgreSQL restarted or the network dropped it."""
        idle = time.monotonic() - self._last_used
        if not self.conn.closed and not self.conn.broken and idle > IDLE_CHECK_SECONDS and not self._in_transaction():
            with suppress(psycopg.OperationalError):
                self.conn.execute("SELECT 1")
        if self.conn.closed or self.conn.broken:
            self.conn = connect(self.url)
        self._last_used = time.monotonic()
        return self.conn

    def _in_transaction(self) -> bool:
        return self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> psycopg.Cursor[dict[str, Any]]:
        conn = self._connection()
        try:
            return conn.execute(to_pyformat(sql), args)
        except psycopg.OperationalError as exc:
            if conn is not self.conn or (not conn.closed and self._in_transaction()):
                raise DatabaseUnavailable(f"the database failed: {exc}") from exc
        conn.close()  # PostgreSQL restarted (AdminShutdown) or the link dropped: a fresh connection, once
        try:
            return self._connection().execute(to_pyformat(sql), args)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"the database failed: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[None]:
        with ExitStack() as stack:
            try:
                stack.enter_context(self._connection().transaction())
            except psycopg.OperationalError:
                self.conn.close()  # BEGIN cut by a restart: a fresh connection, once
                try:
                    stack.enter_context(self._connection().transaction())
                except psycopg.OperationalError as exc:
                    raise DatabaseUnavailable(f"the database failed: {exc}") from exc
            yield None

    def _publish(self, task_id: str, status: TaskStatus) -> None:
        """NOTIFY the other hosts, after the write committed; a lost notification only delays their wake-up
        (supervisors also wake on a timer, long-polls at their timeout), so it never fails the write."""
        try:
            self._run("SELECT pg_notify(?, ?)", (CHANNEL, f"{self._instance}|{task_id}|{status.value}"))
        except DatabaseUnavailable as exc:
            log.warning("could not notify the other hosts of task %s: %s", task_id, exc)

    def _submit_guard(self) -> None:
        self._run("SELECT pg_advisory_xact_lock(?)", (SUBMIT_LOCK,))

    def _recover_scope(self) -> tuple[str, tuple[Any, ...]]:
        """Several hosts: only the tasks this host (WORKER_NAME) held; others' expire with their lease."""
        return " AND worker = ?", (self.worker_name,)

    # --- engine specifics -----------------------------------------------------------------------
    def integrity_ok(self) -> bool:
        return self.db_ok()

    @contextmanager
    def maintenance_lock(self, name: str) -> Iterator[bool]:
        """A session advisory lock: the first host to ask runs the job, the others skip it."""
        key = zlib.crc32(name.encode())
        held = bool(self._scalar("SELECT pg_try_advisory_lock(?) AS held", (key,)))
        try:
            yield held
        finally:
            if held and not self.conn.broken:
                self._run("SELECT pg_advisory_unlock(?)", (key,))

    def space_reclaimable(self) -> tuple[int, int]:
        """PostgreSQL's autovacuum reclaims space by itself."""
        return 0, 0

    def compact(self) -> None:
        """Nothing to do: autovacuum."""
