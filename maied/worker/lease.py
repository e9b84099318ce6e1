"""Leases, not trust: this host beats, renews the lease of the task it runs, and (when several hosts
share the queue) puts back in line the tasks whose host stopped renewing theirs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from maied.settings import Settings
from maied.store import TaskQueue, TaskRecord

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(self, store: TaskQueue, settings: Settings, running: Callable[[], TaskRecord | None], *,
                 on_lost: Callable[[], None]):
        self.store = store
        self.settings = settings
        self._running = running
        self._on_lost = on_lost
        self.interval = max(0.2, settings.TASK_LEASE_SECONDS / 3)

    async def run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception as exc:  # the database is away: the next tick tries again
                log.warning("could not renew leases: %s", exc, extra={"event": "lease_error"})
            await asyncio.sleep(self.interval)

    def tick(self) -> None:
        record = self._running()
        self.store.beat(record.id if record else None)
        if record is not None and record.claim_token and not self.store.renew_lease(record.id, record.claim_token):
            log.error("lost the lease of task %s (it was requeued or finished elsewhere)", record.id,
                      extra={"event": "lease_lost", "task_id": record.id})
            self._on_lost()
        if self.store.shared:
            requeued = self.store.requeue_expired_leases(max_requeues=self.settings.MAX_REQUEUES)
            if requeued:
                log.warning("expired leases: %s", {k: v.value for k, v in requeued.items()},
                            extra={"event": "lease_expired", "tasks": list(requeued)})
