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
from queue import Queue
from typing import BinaryIO

from maied.domain import TaskStatus
from maied.errors import ASRProcessingError, LLMProcessingError, MaieError, ModelMemoryError
from maied.pipeline.model_cache import ModelCache
from maied.settings import Settings
from maied.worker.protocol import (
    AsrDone,
    AsrKept,
    Done,
    Failed,
    Init,
    Message,
    ModelLoad,
    Ping,
    Pong,
    Progress,
    Ready,
    Run,
    StageReached,
    TaskInput,
    decode,
    encode,
)

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

    def send(self, message: Message) -> None:
        with self._lock:
            self._out.write(encode(message))
            self._out.flush()


def read_commands(stdin: BinaryIO, channel: Channel, commands: Queue[Message | None]) -> None:
    """Reader thread: answer pings at once (even during a long stage), queue everything else."""
    for line in stdin:
        if not line.strip():
            continue
        message = decode(line)
        if isinstance(message, Ping):
            channel.send(Pong(message.n))
        else:
            commands.put(message)
    commands.put(None)  # the supervisor closed our stdin: exit


def classify_failure(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, MaieError):
        return exc.code, exc.message
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return ModelMemoryError.code, f"out of memory: {exc}"
    return ASRProcessingError.code, f"{type(exc).__name__}: {exc}"


def run_one(task: TaskInput, models: ModelCache, settings: Settings, channel: Channel) -> None:
    from maied.pipeline.run import run_asr_part, run_task

    stage = {"current": TaskStatus.PREPROCESSING.value}

    def report(status: TaskStatus, input_duration: float | None) -> None:
        stage["current"] = status.value
        channel.send(StageReached(task.id, status.value, input_duration))

    def progress(audio_seconds: float) -> None:
        channel.send(Progress(task.id, round(audio_seconds, 3)))

    try:
        if task.phase == "asr":
            channel.send(AsrDone(task.id, run_asr_part(task, models, settings, report, progress)))
        else:
            output = run_task(task, models, settings, report, progress,
                              keep_asr_part=lambda part: channel.send(AsrKept(task.id, part)))
            channel.send(Done(task.id, output))
    except Exception as exc:  # every failure of a stage is recorded on the task, never lost
        code, message = classify_failure(exc)
        if code == ASRProcessingError.code and stage["current"] == TaskStatus.PROCESSING_LLM.value:
            code = LLMProcessingError.code
        if not isinstance(exc, MaieError):
            log.exception("task %s failed in %s", task.id, stage["current"],
                          extra={"event": "task_error", "task_id": task.id, "error_code": code})
        channel.send(Failed(task.id, code, message, stage["current"]))


def serve(stdin: BinaryIO, channel: Channel) -> None:
    commands: Queue[Message | None] = Queue()
    threading.Thread(target=read_commands, args=(stdin, channel, commands), daemon=True).start()
    settings: Settings | None = None
    models = ModelCache(on_load=lambda kind, key, secs: channel.send(ModelLoad(kind, key, round(secs, 3))))
    channel.send(Ready(os.getpid()))
    while (message := commands.get()) is not None:
        if isinstance(message, Init):
            settings = Settings(**message.settings)
            from maied.logs import setup_logging

            setup_logging(settings.log_dir, filename="worker.log")
        elif isinstance(message, Run) and settings is not None:
            run_one(message.task, models, settings, channel)


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
    serve(sys.stdin.buffer, Channel(proto_out))


if __name__ == "__main__":
    main()
