"""Carry out a Plan (or, on a dry run, report it unchanged)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from maied.errors import MaieError
from maied.maintenance.files import is_under, remove_empty_dirs
from maied.maintenance.plan import Outcome, Plan, PlannedFile, PlannedTask, TaskAction
from maied.maintenance.results import vacuum_if_worth_it
from maied.store import TaskQueue

log = logging.getLogger(__name__)


def execute(plan: Plan, store: TaskQueue | None, *, dry_run: bool) -> Outcome:
    outcome = Outcome(plan.verb, dry_run, notes=list(plan.notes))
    if dry_run:
        outcome.files = list(plan.files)
        outcome.tasks = list(plan.tasks)
        outcome.vacuumed = plan.vacuum
        return outcome
    blocked = _tasks_not_finished(plan, store)
    for planned in plan.files:
        _delete_file(planned, plan.root, blocked, outcome)
    _remove_task_folders(plan, blocked)
    if store is not None:
        for task in plan.tasks:
            _apply_task_action(task, store, blocked, outcome)
        if plan.vacuum:
            outcome.vacuumed = vacuum_if_worth_it(store)
    return outcome


def _tasks_not_finished(plan: Plan, store: TaskQueue | None) -> set[str]:
    """Re-check at execution time: a task that is (somehow) not finished keeps everything."""
    ids = {f.task_id for f in plan.files if f.task_id} | {t.task_id for t in plan.tasks}
    if store is None:
        return set()
    blocked = set()
    for task_id in ids:
        record = store.get(task_id)
        if record is not None and not record.status.is_terminal:
            blocked.add(task_id)
    return blocked


def _delete_file(planned: PlannedFile, root: Path | None, blocked: set[str], outcome: Outcome) -> None:
    if planned.task_id in blocked:
        outcome.failures.append(f"{planned.path}: task {planned.task_id} is not finished, kept")
        return
    if root is None or not is_under(planned.path, root):
        outcome.failures.append(f"{planned.path}: outside {root}, kept")
        return
    try:
        planned.path.unlink()
    except FileNotFoundError:
        outcome.notes.append(f"{planned.path}: already gone")
        return
    except OSError as exc:
        outcome.failures.append(f"{planned.path}: {exc.strerror or exc}")
        return
    log.info("deleted %s (%d bytes): %s", planned.path, planned.size, planned.reason)
    outcome.files.append(planned)


def _remove_task_folders(plan: Plan, blocked: set[str]) -> None:
    if plan.root is None or not plan.prune_folders:
        return
    root = plan.root
    tops = set()
    for planned in plan.files:
        if planned.task_id in blocked or root not in planned.path.parents:
            continue
        tops.add(root / planned.path.relative_to(root).parts[0])
    for top in sorted(tops):
        remove_empty_dirs(top, root)


def _apply_task_action(task: PlannedTask, store: TaskQueue, blocked: set[str], outcome: Outcome) -> None:
    if task.task_id in blocked:
        return
    try:
        if task.action is TaskAction.PURGE_AUDIO:
            store.mark_audio_purged(task.task_id)
        elif not store.expire_results(0, task_id=task.task_id):
            outcome.notes.append(f"task {task.task_id}: results already expired")
            return
        outcome.tasks.append(task)
        record = store.get(task.task_id)
        if record is not None and record.audio_purged_at is not None and record.results_expired_at is not None:
            store.delete(task.task_id)
            outcome.notes.append(f"task {task.task_id}: audio purged and results expired, row dropped")
    except (MaieError, sqlite3.Error) as exc:  # e.g. the row was deleted meanwhile by DELETE /v1/tasks
        outcome.notes.append(f"task {task.task_id}: {task.action.value} skipped ({exc})")
