"""What a maintenance verb intends to do, and what it did: plain data, no side effects."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class TaskAction(StrEnum):
    """What happens to a task's row. Either action drops the row once both its audio is purged and its
    results are expired: nothing is left for it to answer with."""

    PURGE_AUDIO = "purge_audio"
    EXPIRE_RESULTS = "expire_results"


@dataclass(frozen=True)
class PlannedFile:
    path: Path
    size: int
    reason: str
    task_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "bytes": self.size, "reason": self.reason, "task_id": self.task_id}


@dataclass(frozen=True)
class PlannedTask:
    task_id: str
    action: TaskAction
    size: int = 0
    """Bytes this frees inside the database (results text); files are counted on their own."""
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "action": self.action.value, "bytes": self.size, "reason": self.reason}


@dataclass
class Plan:
    verb: str
    root: Path | None = None
    """Every planned file lies under this folder; the executor refuses anything outside it."""
    files: list[PlannedFile] = field(default_factory=list)
    tasks: list[PlannedTask] = field(default_factory=list)
    vacuum: bool = False
    prune_folders: bool = False
    """Remove the per-task folders (children of root) the deletions leave empty."""
    notes: list[str] = field(default_factory=list)

    @property
    def file_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def db_bytes(self) -> int:
        return sum(t.size for t in self.tasks)

    @property
    def total_bytes(self) -> int:
        return self.file_bytes + self.db_bytes


@dataclass
class Outcome:
    """What was deleted (or, on a dry run, would be): the same shape either way."""

    verb: str
    dry_run: bool
    files: list[PlannedFile] = field(default_factory=list)
    tasks: list[PlannedTask] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    vacuumed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return sum(f.size for f in self.files) + sum(t.size for t in self.tasks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verb": self.verb,
            "dry_run": self.dry_run,
            "files": [f.to_dict() for f in self.files],
            "tasks": [t.to_dict() for t in self.tasks],
            "bytes": self.bytes_freed,
            "vacuumed": self.vacuumed,
            "failures": list(self.failures),
            "notes": list(self.notes),
        }
