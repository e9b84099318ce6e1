"""Fault injection for the daemon's plumbing tests (crash, hang, slow). Active only when the worker
child runs with MAIE_TEST_HOOKS=1, which nothing but the test suite sets. The action is chosen by the
uploaded file's name: `crash-*` (SIGKILL itself), `hang-*` (never returns), `slow<seconds>-*`.
"""

from __future__ import annotations

import os
import re
import signal
import threading

from maied.worker.protocol import TaskInput


def task_hook(task: TaskInput) -> None:
    name = (task.request.filename or "").lower()
    if name.startswith("crash-"):
        os.kill(os.getpid(), signal.SIGKILL)
    if name.startswith("hang-"):
        threading.Event().wait()
    match = re.match(r"slow(\d+(?:\.\d+)?)-", name)
    if match:
        threading.Event().wait(float(match.group(1)))
