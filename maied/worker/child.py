"""The worker child process: owns the models (and the GPU); runs one task at a time.

Started by the supervisor as `python -m maied.worker.child` in its own process group, with a
parent-death signal. Protocol messages go over a private duplicate of stdout; fd 1 itself is pointed at
stderr so that anything a library prints can never corrupt the protocol.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from queue import Queue
from typing import Any, BinaryIO

from maied.domain import TaskStatus
from maied.errors import MaieError, ModelMemoryError
from maied.pipeline.models import ModelCache
from maied.settings import Settings
from maied.worker.protocol import TaskInput, decode, encode

PR_SET_PDEATHSIG = 1
log = logging.getLogger("maied.worker")


def set_parent_death_signal(expected_parent: int) -> None:
    """Die with SIGKILL when the daemon dies (also if it died before this line ran)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass
    if os.getppid() != expected_parent:
        os._exit(70)


class Channel:
    """Thread-safe writer of protocol messages."""

    def __init__(self, out: BinaryIO):
        self._out = out
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._out.write(encode(message))
            self._out.flush()


def read_commands(stdin: BinaryIO, channel: Channel, commands: Queue[dict[str, Any] | None]) -> None:
    """Reader thread: answer pings at once (even during a long stage), queue everything else."""
    for line in stdin:
        if not line.strip():
            continue
        message = decode(line)
        if message["type"] == "ping":
            channel.send({"type": "pong", "n": message.get("n")})
        else:
            commands.put(message)
    commands.put(None)  # the supervisor closed our stdin: exit


def classify_failure(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, MaieError):
        return exc.code, exc.message
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return ModelMemoryError.code, f"out of memory: {exc}"
    return "ASR_PROCESSING_ERROR", f"{type(exc).__name__}: {exc}"


def run_one(task: TaskInput, models: ModelCache, settings: Settings, channel: Channel) -> None:
    from maied.pipeline.run import run_asr_part, run_task

    stage = {"current": TaskStatus.PREPROCESSING.value}

    def report(status: TaskStatus, input_duration: float | None) -> None:
        stage["current"] = status.value
        channel.send({"type": "stage", "task_id": task.id, "status": status.value,
                      "input_duration": input_duration})

    def progress(audio_seconds: float) -> None:
        channel.send({"type": "progress", "task_id": task.id, "audio_seconds": round(audio_seconds, 3)})

    try:
        if task.phase == "asr":
            part = run_asr_part(task, models, settings, report, progress)
        else:
            output = run_task(task, models, settings, report, progress, keep_asr_part=lambda part: channel.send(
                {"type": "asr_part", "task_id": task.id, "asr_output": part}))
    except Exception as exc:  # every failure of a stage is recorded on the task, never lost
        code, message = classify_failure(exc)
        if code == "ASR_PROCESSING_ERROR" and stage["current"] == TaskStatus.PROCESSING_LLM.value:
            code = "LLM_PROCESSING_ERROR"
        if not isinstance(exc, MaieError):
            log.exception("task %s failed in %s", task.id, stage["current"],
                          extra={"event": "task_error", "task_id": task.id, "error_code": code})
        channel.send({"type": "failed", "task_id": task.id, "code": code, "message": message,
                      "stage": stage["current"]})
        return
    if task.phase == "asr":
        channel.send({"type": "asr_done", "task_id": task.id, "asr_output": part})
    else:
        channel.send({"type": "done", "task_id": task.id, "output": output.to_dict()})


def serve(stdin: BinaryIO, channel: Channel, hook: Callable[[TaskInput], None] | None = None) -> None:
    commands: Queue[dict[str, Any] | None] = Queue()
    threading.Thread(target=read_commands, args=(stdin, channel, commands), daemon=True).start()
    settings: Settings | None = None
    models = ModelCache(on_load=lambda kind, key, secs: channel.send(
        {"type": "model_load", "kind": kind, "name": key, "seconds": round(secs, 3)}))
    channel.send({"type": "ready", "pid": os.getpid()})
    while (message := commands.get()) is not None:
        if message["type"] == "init":
            settings = Settings(**message["settings"])
            from maied.logs import setup_logging

            setup_logging(settings.log_dir, filename="worker.log")
        elif message["type"] == "run" and settings is not None:
            task = TaskInput.from_dict(message["task"])
            if hook is not None:
                hook(task)
            run_one(task, models, settings, channel)


def prefer_as_oom_victim() -> None:
    """When memory runs out (a decoder bomb, a model too big), the kernel kills this child, never the
    daemon: the task is then recorded (WORKER_CRASHED after MAX_ATTEMPTS) and the queue goes on."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass


def main() -> None:
    parent = int(os.environ.get("MAIE_WORKER_PARENT", "0"))
    if parent:
        set_parent_death_signal(parent)
    prefer_as_oom_victim()
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    hook = None
    if os.environ.get("MAIE_TEST_HOOKS") == "1":
        from maied.worker.test_hooks import task_hook

        hook = task_hook
    serve(sys.stdin.buffer, Channel(proto_out), hook)


if __name__ == "__main__":
    main()
