"""The task store: the durable queue and the results, one interface (`TaskQueue`) with two engines.

SQLite (`TaskStore`, the default: one host) and PostgreSQL (`PostgresTaskStore`: several hosts share one
queue). `open_store(settings)` picks the engine from DATABASE_URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from maied.store.base import ExpiringResults, HostBeat, Phase, TaskQueue
from maied.store.records import NewTask, TaskRecord
from maied.store.tasks import TaskStore

if TYPE_CHECKING:
    from maied.settings import Settings

__all__ = ["ExpiringResults", "HostBeat", "NewTask", "Phase", "TaskQueue", "TaskRecord", "TaskStore", "open_store"]


def open_store(settings: Settings) -> TaskQueue:
    """The queue this host uses: PostgreSQL at DATABASE_URL when set, else SQLite at DB_PATH."""
    if settings.DATABASE_URL:
        from maied.store.postgres import PostgresTaskStore

        return PostgresTaskStore(settings.DATABASE_URL, worker=settings.WORKER_NAME,
                                 lease_seconds=settings.TASK_LEASE_SECONDS)
    return TaskStore(settings.db_path, worker=settings.WORKER_NAME, lease_seconds=settings.TASK_LEASE_SECONDS)
