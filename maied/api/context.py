"""What the API handlers share: settings, the store, the change notifier, daemon facts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from maied.api.access import Identity
from maied.api.changes import ChangeNotifier
from maied.errors import TaskNotFound
from maied.settings import Settings
from maied.store import TaskQueue, TaskRecord


@dataclass
class DaemonFacts:
    """Read-only views of the daemon that /health and /metrics report (the API never imports the worker)."""

    worker_active: Callable[[], bool] = lambda: False
    worker_healthy: Callable[[], bool] = lambda: True
    shutting_down: Callable[[], bool] = lambda: False
    model_loads: Callable[[], dict[str, int]] = dict
    model_sharing: Callable[[], dict[str, object]] = dict
    stopping: asyncio.Event | None = None
    """Set when the daemon begins to stop: answers that await a task's end give up then."""
    store_writable: Callable[[], bool] = lambda: True
    """False while the supervisor cannot write to the store (e.g. the disk is full): /health is unhealthy."""
    supervisor_alive: Callable[[], bool] = lambda: True


@dataclass
class ApiContext:
    settings: Settings
    store: TaskQueue
    changes: ChangeNotifier
    facts: DaemonFacts = field(default_factory=DaemonFacts)
    builtin_templates: Path | None = None
    uploads_reserved: int = 0
    """Bytes the uploads in flight may still write: counted against DISK_THRESHOLD with what is used."""

    def owned_task(self, task_id: str, who: Identity) -> TaskRecord:
        """The task if `who` may see it; 404 otherwise (also for tasks of others)."""
        record = self.store.get(task_id) if _plausible_id(task_id) else None
        if record is None or not who.may_access(record.owner):
            raise TaskNotFound(f"no task {task_id[:64]}")
        return record


def _plausible_id(task_id: str) -> bool:
    return 0 < len(task_id) <= 64 and all(c.isalnum() or c in "-_" for c in task_id)


CTX = web.AppKey("maie_ctx", ApiContext)
IDENTITY = "maie_identity"


def ctx_of(request: web.Request) -> ApiContext:
    return request.app[CTX]


def identity_of(request: web.Request) -> Identity:
    who = request.get(IDENTITY)
    assert isinstance(who, Identity)
    return who
