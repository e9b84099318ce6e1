"""JSON shapes of the API (docs/api.md) built from store records."""

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
    complete = record.status == TaskStatus.COMPLETE
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
        "results": record.results if complete else None,
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


def error_response(exc: MaieError) -> web.Response:
    headers = {}
    if exc.status == 429:
        headers["Retry-After"] = str(exc.details.get("retry_after", 30))
    return web.json_response(exc.to_body(), status=exc.status, headers=headers)
