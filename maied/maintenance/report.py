"""Human-readable lines for an Outcome (the JSON form is Outcome.to_dict())."""

from __future__ import annotations

from maied.maintenance.plan import Outcome, TaskAction

_TASK_WORDS = {
    TaskAction.PURGE_AUDIO: "mark the audio of task {id} purged",
    TaskAction.EXPIRE_RESULTS: "expire the results of task {id} ({bytes} bytes)",
}


def human_bytes(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


def outcome_lines(outcome: Outcome) -> list[str]:
    verb = "would delete" if outcome.dry_run else "deleted"
    lines = [f"{verb} {f.path} ({f.size} bytes): {f.reason}" for f in outcome.files]
    for task in outcome.tasks:
        words = _TASK_WORDS[task.action].format(id=task.task_id, bytes=task.size)
        lines.append(("would " if outcome.dry_run else "did: ") + words)
    if outcome.vacuumed:
        lines.append("would vacuum the database" if outcome.dry_run else "vacuumed the database")
    lines += [f"note: {n}" for n in outcome.notes]
    lines += [f"FAILED: {f}" for f in outcome.failures]
    freed = "would free" if outcome.dry_run else "freed"
    tasks = len({t.task_id for t in outcome.tasks})
    lines.append(f"{outcome.verb}: {freed} {outcome.bytes_freed} bytes ({human_bytes(outcome.bytes_freed)})"
                 f" in {len(outcome.files)} files and {tasks} tasks{' [dry run]' if outcome.dry_run else ''}")
    return lines
