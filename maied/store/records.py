"""Rows of the task store as plain data."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from maied.domain import TaskKind, TaskRequest, TaskStatus


@dataclass
class NewTask:
    id: str
    kind: TaskKind
    owner: str
    request: TaskRequest
    audio_path: str | None = None
    input_text: str | None = None
    input_duration: float | None = None


@dataclass
class TaskRecord:
    seq: int
    id: str
    kind: TaskKind
    owner: str
    status: TaskStatus
    stage: str | None
    request: TaskRequest
    audio_path: str | None
    input_text: str | None
    input_duration: float | None
    submitted_at: float
    started_at: float | None
    completed_at: float | None
    attempts: int
    requeues: int
    cancel_requested: bool
    error_code: str | None
    error: str | None
    warnings: list[dict[str, str]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] | None = None
    results_expired_at: float | None = None
    audio_purged_at: float | None = None
    asr_output: dict[str, Any] | None = None
    """The ASR part kept for the LLM part (see STAGE_WAITING_FOR_LLM); None until the ASR part is done."""
    worker: str | None = None
    """WORKER_NAME of the host that claimed the task last (the one that ran it, once finished)."""
    claim_token: str | None = None
    """The fencing token of the claim holding the task; None while no host holds it."""

    @classmethod
    def from_row(cls, row: Any) -> TaskRecord:
        """From a row of either engine (sqlite3.Row or a psycopg dict row)."""
        return cls(
            seq=row["seq"],
            id=row["id"],
            kind=TaskKind(row["kind"]),
            owner=row["owner"],
            status=TaskStatus(row["status"]),
            stage=row["stage"],
            request=TaskRequest.from_dict(json.loads(row["request"])),
            audio_path=row["audio_path"],
            input_text=row["input_text"],
            input_duration=row["input_duration"],
            submitted_at=row["submitted_at"],
            started_at=row["started_at"],
            completed_at=row["completed_at"],
            attempts=row["attempts"],
            requeues=row["requeues"],
            cancel_requested=bool(row["cancel_requested"]),
            error_code=row["error_code"],
            error=row["error"],
            warnings=_load(row["warnings"], []),
            metrics=_load(row["metrics"], {}),
            versions=_load(row["versions"], {}),
            results=_load(row["results"], None),
            results_expired_at=row["results_expired_at"],
            audio_purged_at=row["audio_purged_at"],
            asr_output=_load(row["asr_output"], None),
            worker=row["worker"],
            claim_token=row["claim_token"],
        )


def _load(text: str | None, default: Any) -> Any:
    return default if text is None else json.loads(text)
