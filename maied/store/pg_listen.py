"""LISTEN for other hosts' changes and hand them to the store's listeners on the daemon's event loop.

One thread with its own connection. After (re)connecting it wakes every listener once, since changes made
while it was away were missed (a long-poll re-reads its task; the supervisor tries a claim).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

import psycopg

from maied.domain import TaskStatus

log = logging.getLogger(__name__)
CHANNEL = "maie_tasks"
RETRY_SECONDS = 1.0


class ChangeListener(threading.Thread):
    def __init__(self, url: str, instance: str, deliver: Callable[[str, TaskStatus], None],
                 loop: asyncio.AbstractEventLoop):
        super().__init__(name="maie-pg-listen", daemon=True)
        self.url = url
        self.instance = instance
        self.deliver = deliver
        self.loop = loop
        self.ready = threading.Event()
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._listen()
            except psycopg.Error as exc:
                log.warning("lost the database's change notifications (%s): reconnecting", exc,
                            extra={"event": "listen_lost"})
                self._stopping.wait(RETRY_SECONDS)

    def _listen(self) -> None:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.ready.set()
            self._hand_over("", TaskStatus.PENDING)
            while not self._stopping.is_set():
                for note in conn.notifies(timeout=0.5):
                    self._on_note(note.payload)

    def _on_note(self, payload: str) -> None:
        instance, task_id, status = (payload.split("|") + ["", "", ""])[:3]
        if instance == self.instance:
            return  # our own write: its listeners were told already
        with contextlib.suppress(ValueError):
            self._hand_over(task_id, TaskStatus(status))

    def _hand_over(self, task_id: str, status: TaskStatus) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the daemon is stopping
            self.loop.call_soon_threadsafe(self._deliver_safely, task_id, status)

    def _deliver_safely(self, task_id: str, status: TaskStatus) -> None:
        try:
            self.deliver(task_id, status)
        except Exception:
            log.exception("a change listener failed on task %s", task_id)
