"""clean-logs: log files older than DAYS_TO_KEEP days (the seed's clean-logs.sh)."""

from __future__ import annotations

import time

from maied.maintenance.files import age_days, check_root, walk_files
from maied.maintenance.plan import Plan, PlannedFile
from maied.settings import Settings

LIVE_LOGS = frozenset({"maied.log", "worker.log"})
"""The files the daemon and its worker child are writing now (rotated at midnight): never deleted."""


def plan_clean_logs(settings: Settings, *, now: float | None = None) -> Plan:
    now = time.time() if now is None else now
    root = settings.log_dir
    plan = Plan("clean-logs", root=root)
    if not root.is_dir():
        plan.notes.append(f"no log folder {root}")
        return plan
    check_root(root)
    for info in walk_files(root):
        if info.path.name in LIVE_LOGS and info.path.parent == root:
            continue
        age = age_days(info.mtime, now)
        if age > settings.DAYS_TO_KEEP:
            reason = f"log file {age:.1f} days old (DAYS_TO_KEEP={settings.DAYS_TO_KEEP:g})"
            plan.files.append(PlannedFile(info.path, info.size, reason))
    return plan
