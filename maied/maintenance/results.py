"""clean-results: results of tasks finished more than RESULT_TTL seconds ago (the seed's clean-cache.sh).

The row stays (its status answers 410 RESULT_EXPIRED) until its audio is purged too; then it is dropped.
The database is vacuumed when enough of it is free space to be worth a rewrite.
"""

from __future__ import annotations

import time

from maied.maintenance.plan import Plan, PlannedTask, TaskAction
from maied.store import TaskQueue

VACUUM_MIN_FREE_BYTES = 1 << 20
VACUUM_MIN_FREE_FRACTION = 0.25


def plan_clean_results(ttl_seconds: float, store: TaskQueue, *, now: float | None = None) -> Plan:
    now = time.time() if now is None else now
    plan = Plan("clean-results")
    for item in store.results_to_expire(now - ttl_seconds):
        age_h = (now - item.completed_at) / 3600
        reason = f"results of task {item.task_id}, finished {age_h:.1f} h ago (RESULT_TTL={ttl_seconds:g} s)"
        plan.tasks.append(PlannedTask(item.task_id, TaskAction.EXPIRE_RESULTS, item.results_bytes, reason))
    free, size = store.space_reclaimable()
    plan.vacuum = worth_vacuum(free + plan.db_bytes, size)
    if plan.vacuum:
        plan.notes.append(f"vacuum the database ({free + plan.db_bytes} of {size} bytes free after expiry)")
    return plan


def worth_vacuum(free_bytes: int, file_bytes: int) -> bool:
    """A rewrite pays off when at least 1 MiB and a quarter of the file is free pages."""
    if file_bytes <= 0:
        return False
    return free_bytes >= VACUUM_MIN_FREE_BYTES and free_bytes / file_bytes >= VACUUM_MIN_FREE_FRACTION


def vacuum_if_worth_it(store: TaskQueue) -> bool:
    free, size = store.space_reclaimable()
    if not worth_vacuum(free, size):
        return False
    store.compact()
    return True
