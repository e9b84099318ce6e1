"""JSON shapes of the API (INTERFACE.md) built from store records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from maied.domain import TaskStatus
from maied.errors import MaieError
from maied.store import TaskRecord


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def status_body(record: TaskRecord, queue_position: int | None) -> dict[str, Any]:
    # A failed task keeps what its earlier stages produced (the transcript of a task whose LLM stage failed).
    finished = record.status in (TaskStatus.COMPLETE, TaskStatus.FAILED)
    return {
        "task_id": record.id,
        "status": record.status.value,
        "stage": record.stage,
        "error": record.error,
        "error_code": record.error_code,
        "warnings": record.warnings,
        "submitted_at": iso(record.submitted_at),
        "started_at": iso(record.started_at),
        "completed_at": iso(record.completed_at),
        "queue_position": queue_position,
        "versions": record.versions or None,
        "metrics": record.metrics or None,
        "results": record.results if finished else None,
        "source_task_id": record.request.source_task_id,
        "worker": record.worker,
    }


def summary_body(record: TaskRecord) -> dict[str, Any]:
    """One line of GET /v1/tasks."""
    return {
        "task_id": record.id,
        "status": record.status.value,
        "stage": record.stage,
        "error_code": record.error_code,
        "filename": record.request.filename,
        "features": record.request.features,
        "submitted_at": iso(record.submitted_at),
        "completed_at": iso(record.completed_at),
    }


OPENAI_PREFIX = "/v1/audio/"
"""Routes of OpenAI's audio API: their errors take OpenAI's shape {"error": {message, type, param, code}}."""


def error_response(exc: MaieError, path: str = "") -> web.Response:
    headers = {}
    if exc.status == 429:
        headers["Retry-After"] = str(exc.details.get("retry_after", 30))
    if path.startswith(OPENAI_PREFIX):
        from maied.api.openai_format import error_body

        param = exc.details.get("param")
        body = error_body(exc.status, exc.code, exc.message, param if isinstance(param, str) else None)
        return web.json_response(body, status=exc.status, headers=headers)
    return web.json_response(exc.to_body(), status=exc.status, headers=headers)
