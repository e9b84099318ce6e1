"""clean-audio: the audio of finished tasks older than RETENTION_DAYS (the seed's clean-audio.sh).

A task's audio is its folder AUDIO_DIR/<task_id>/ (the original upload and every derived file). Only
COMPLETE, FAILED and CANCELLED tasks are considered; a pending or running task is never touched. A
folder with no task row at all (an interrupted upload) goes once its newest file is past retention.
"""

from __future__ import annotations

import time
from pathlib import Path

from maied.maintenance.files import DAY, FileInfo, age_days, check_root, is_under, walk_files
from maied.maintenance.plan import Plan, PlannedFile, PlannedTask, TaskAction
from maied.settings import Settings
from maied.store import TaskQueue, TaskRecord


def task_audio_files(audio_dir: Path, record: TaskRecord, reason: str) -> list[PlannedFile]:
    """Every file of one task: its folder, plus audio_path when it lies elsewhere under AUDIO_DIR."""
    folder = audio_dir / record.id
    infos = walk_files(folder)
    if record.audio_path:
        extra = Path(record.audio_path)
        inside = any(extra == i.path for i in infos)
        if not inside and extra.is_file() and not extra.is_symlink() and is_under(extra, audio_dir):
            st = extra.lstat()
            infos.append(FileInfo(extra, st.st_size, st.st_mtime))
    return [PlannedFile(i.path, i.size, reason, record.id) for i in infos]


def purge_action(record: TaskRecord, reason: str) -> PlannedTask:
    return PlannedTask(record.id, TaskAction.PURGE_AUDIO, 0, reason)


def plan_clean_audio(settings: Settings, store: TaskQueue, *, now: float | None = None) -> Plan:
    now = time.time() if now is None else now
    audio_dir = settings.audio_dir
    plan = Plan("clean-audio", root=audio_dir, prune_folders=True)
    if audio_dir.is_dir():
        check_root(audio_dir)
    cutoff = now - settings.RETENTION_DAYS * DAY
    for record in store.finished_with_audio(finished_before=cutoff):
        age = age_days(record.completed_at or now, now)
        reason = (f"audio of task {record.id} ({record.status.value}, finished {age:.1f} days ago;"
                  f" RETENTION_DAYS={settings.RETENTION_DAYS:g})")
        plan.files.extend(task_audio_files(audio_dir, record, reason))
        plan.tasks.append(purge_action(record, reason))
    plan.files.extend(_orphans(audio_dir, store.task_statuses(), cutoff, now))
    return plan


def _orphans(audio_dir: Path, statuses: dict[str, str], cutoff: float, now: float) -> list[PlannedFile]:
    found: list[PlannedFile] = []
    if not audio_dir.is_dir():
        return found
    for folder in sorted(p for p in audio_dir.iterdir() if p.is_dir() and not p.is_symlink()):
        if folder.name in statuses:
            continue
        infos = walk_files(folder)
        newest = max((i.mtime for i in infos), default=folder.stat().st_mtime)
        if newest < cutoff:
            reason = f"audio folder with no task in the database, untouched for {age_days(newest, now):.1f} days"
            found.extend(PlannedFile(i.path, i.size, reason) for i in infos)
    return found
