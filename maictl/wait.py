"""Follow a task to its end with the long-poll `GET /v1/status/{id}?wait=S`, reporting each change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

TERMINAL_STATUSES = frozenset({"COMPLETE", "FAILED", "CANCELLED"})
LONG_POLL_SECONDS = 30


class StatusSource(Protocol):
    def status(self, task_id: str, wait: float | None = None) -> dict[str, Any]: ...


def change_key(doc: dict[str, Any]) -> tuple[Any, ...]:
    """What makes a status document worth reporting again: status, stage and queue position."""
    return doc.get("status"), doc.get("stage"), doc.get("queue_position")


def is_terminal(doc: dict[str, Any]) -> bool:
    return doc.get("status") in TERMINAL_STATUSES


def follow_task(source: StatusSource, task_id: str, on_change: Callable[[dict[str, Any]], None],
                poll_seconds: float = LONG_POLL_SECONDS) -> dict[str, Any]:
    """Call `on_change` once per distinct state until the task ends; return its last status document.

    The first request does not wait, so that the current state is shown at once; the following ones
    long-poll, so that a change is seen as soon as the daemon records it, without busy polling.
    """
    doc = source.status(task_id)
    on_change(doc)
    last = change_key(doc)
    while not is_terminal(doc):
        doc = source.status(task_id, wait=poll_seconds)
        key = change_key(doc)
        if key != last:
            on_change(doc)
            last = key
    return doc
