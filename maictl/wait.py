"""Follow a task to its end with the long-poll `GET /v1/status/{id}?wait=S`, reporting each change."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from maictl.client import ClientError

TERMINAL_STATUSES = frozenset({"COMPLETE", "FAILED", "CANCELLED"})
LONG_POLL_SECONDS = 30
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)  # ~15 s: long enough for `systemctl restart maied`


class StatusSource(Protocol):
    def status(self, task_id: str, wait: float | None = None) -> dict[str, Any]: ...


def change_key(doc: dict[str, Any]) -> tuple[Any, ...]:
    """What makes a status document worth reporting again: status, stage and queue position."""
    return doc.get("status"), doc.get("stage"), doc.get("queue_position")


def is_terminal(doc: dict[str, Any]) -> bool:
    return doc.get("status") in TERMINAL_STATUSES


def follow_task(source: StatusSource, task_id: str, on_change: Callable[[dict[str, Any]], None],
                poll_seconds: float = LONG_POLL_SECONDS,
                sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Call `on_change` once per distinct state until the task ends; return its last status document.

    The first request does not wait, so that the current state is shown at once; the following ones
    long-poll, so that a change is seen as soon as the daemon records it, without busy polling.
    """
    doc = source.status(task_id)
    on_change(doc)
    last = change_key(doc)
    while not is_terminal(doc):
        doc = poll_through_restarts(source, task_id, poll_seconds, sleep)
        key = change_key(doc)
        if key != last:
            on_change(doc)
            last = key
    return doc


def is_transient(error: ClientError) -> bool:
    """A daemon restarting: unreachable for a moment, or answering 503 while it shuts down."""
    return error.http_status is None or error.http_status == 503


def poll_through_restarts(source: StatusSource, task_id: str, poll_seconds: float,
                          sleep: Callable[[float], None]) -> dict[str, Any]:
    """One long-poll; a daemon restart in the middle is ridden out (the task is in its database)."""
    for delay in RECONNECT_DELAYS:
        try:
            return source.status(task_id, wait=poll_seconds)
        except ClientError as exc:
            if not is_transient(exc):
                raise
        sleep(delay)
    return source.status(task_id, wait=poll_seconds)
