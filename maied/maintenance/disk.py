"""disk-monitor: use of the data disk against DISK_THRESHOLD; with EMERGENCY_CLEANUP, free space
oldest-first (the audio of finished tasks, whatever their age) until the disk is under the threshold."""

from __future__ import annotations

from maied.diskusage import DiskUsage, disk_usage
from maied.maintenance.audio import purge_action, task_audio_files
from maied.maintenance.plan import Plan, PlannedFile, PlannedTask
from maied.settings import Settings
from maied.store import TaskQueue


def data_disk_usage(settings: Settings) -> DiskUsage:
    """The disk that holds the uploads (AUDIO_DIR, which defaults to DATA_DIR/audio)."""
    return disk_usage(settings.audio_dir)


def count_until_below(sizes: list[int], usage: DiskUsage, threshold: float) -> int:
    """How many of the candidates (oldest first) must go for the disk to drop to the threshold or
    below; all of them when even that is not enough."""
    freed = 0
    for index, size in enumerate(sizes):
        if usage.percent_after_freeing(freed) <= threshold:
            return index
        freed += size
    return len(sizes)


def plan_emergency_cleanup(settings: Settings, store: TaskQueue, usage: DiskUsage) -> Plan:
    threshold = settings.DISK_THRESHOLD
    plan = Plan("disk-monitor", root=settings.audio_dir, prune_folders=True)
    groups: list[tuple[list[PlannedFile], PlannedTask]] = []
    for record in store.finished_with_audio():
        reason = (f"emergency: audio of task {record.id} ({record.status.value}), oldest first while the disk"
                  f" is above DISK_THRESHOLD={threshold:g}%")
        files = task_audio_files(settings.audio_dir, record, reason)
        if files:
            groups.append((files, purge_action(record, reason)))
    take = count_until_below([sum(f.size for f in files) for files, _ in groups], usage, threshold)
    for files, task in groups[:take]:
        plan.files.extend(files)
        plan.tasks.append(task)
    after = usage.percent_after_freeing(plan.file_bytes)
    if after > threshold:
        plan.notes.append(f"removing every finished task's audio only brings the disk to {after:.1f}%:"
                          " free space elsewhere")
    return plan
