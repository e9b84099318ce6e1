"""Status-change notification for long-polls: every store status write wakes the waiters of that task."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from maied.domain import TaskStatus


class ChangeNotifier:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._events: dict[str, asyncio.Event] = {}

    def event_for(self, task_id: str) -> asyncio.Event:
        """Take the event BEFORE reading the status, so that no change in between is missed."""
        event = self._events.get(task_id)
        if event is None:
            event = self._events[task_id] = asyncio.Event()
        return event

    def on_change(self, task_id: str, status: TaskStatus) -> None:
        if threading.get_ident() == self._loop_thread:
            self._fire(task_id)
        else:
            self._loop.call_soon_threadsafe(self._fire, task_id)

    def _fire(self, task_id: str) -> None:
        event = self._events.pop(task_id, None)
        if event is not None:
            event.set()

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
            return True
        return False
