"""Structured logs: one JSON object a line, to stderr (journald) and to $LOG_DIR/maied.log (daily files)."""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from pathlib import Path
from typing import Any

from maied.domain import TaskStatus
from maied.store import TaskQueue

_STD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        data.update({k: v for k, v in vars(record).items() if k not in _STD and not k.startswith("_")})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def setup_logging(log_dir: Path | None, level: str = "INFO", filename: str = "maied.log") -> None:
    """JSON lines to stderr (journald under systemd) and to LOG_DIR/<filename>, a new file each midnight.
    The daemon writes maied.log; its worker child, a separate process, worker.log."""
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(JsonFormatter())
    root.addHandler(stderr)
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.TimedRotatingFileHandler(log_dir / filename, when="midnight",
                                                                backupCount=0, encoding="utf-8")
        except OSError as exc:
            logging.getLogger(__name__).warning("cannot write logs to %s: %s", log_dir, exc)
            return
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)


class TaskEventLogger:
    """One record per task state change, with task id, stage and timings."""

    def __init__(self, store: TaskQueue):
        self.store = store
        self.log = logging.getLogger("maied.tasks")

    def __call__(self, task_id: str, status: TaskStatus) -> None:
        record = self.store.get(task_id)
        fields: dict[str, Any] = {"event": "task_status", "task_id": task_id, "status": status.value}
        if record is not None:
            fields["stage"] = record.stage
            fields["owner"] = record.owner
            now = time.time()
            if record.started_at is not None:
                fields["running_seconds"] = round((record.completed_at or now) - record.started_at, 3)
            fields["since_submit_seconds"] = round((record.completed_at or now) - record.submitted_at, 3)
            if status == TaskStatus.FAILED:
                fields["error_code"] = record.error_code
                fields["error"] = record.error
            if status == TaskStatus.COMPLETE:
                fields["rtf"] = record.metrics.get("rtf")
        self.log.info("task %s %s", task_id, status.value, extra=fields)
