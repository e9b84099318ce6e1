"""One worker child process seen from the daemon: start, talk, heartbeat, kill (the whole group)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from pathlib import Path

import psutil

from maied.settings import Settings
from maied.worker.protocol import Init, Message, Ping, Pong, Ready, decode, encode

log = logging.getLogger(__name__)
CHILD_MODULE = "maied.worker.child"
LINE_LIMIT = 64 * 1024 * 1024  # a result (segments with words) of a long recording is a long line


class WorkerProcess:
    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc
        self.pid = proc.pid
        self.messages: asyncio.Queue[Message | None] = asyncio.Queue()
        self.last_pong = time.monotonic()
        self.started = time.monotonic()
        self._ping_n = 0
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, settings: Settings, pgid_file: Path | None = None) -> WorkerProcess:
        env = dict(os.environ, MAIE_WORKER_PARENT=str(os.getpid()), PYTHONUNBUFFERED="1")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", CHILD_MODULE,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
            start_new_session=True, limit=LINE_LIMIT,
        )
        worker = cls(proc)
        if pgid_file is not None:
            pgid_file.parent.mkdir(parents=True, exist_ok=True)
            staging = pgid_file.with_suffix(".tmp")
            staging.write_text(f"{proc.pid}\n")
            staging.replace(pgid_file)  # atomic: a reader never sees it half-written
        worker.send(Init(settings.model_dump(mode="json")))
        try:
            ready = await asyncio.wait_for(worker.messages.get(), timeout=120)
        except TimeoutError:
            ready = None  # a child that hangs while starting is killed like one that died
        if not isinstance(ready, Ready):
            await worker.kill()
            raise RuntimeError(f"worker child did not start (exit {proc.returncode})")
        log.info("worker child started", extra={"event": "worker_started", "pid": proc.pid})
        return worker

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            while line := await self.proc.stdout.readline():
                message = decode(line)
                if isinstance(message, Pong):
                    self.last_pong = time.monotonic()
                else:
                    self.messages.put_nowait(message)
        except (ValueError, asyncio.LimitOverrunError) as exc:
            log.error("worker child sent garbage: %s", exc)
        finally:
            self.messages.put_nowait(None)

    def send(self, message: Message) -> None:
        if self.proc.stdin is None or self.proc.stdin.is_closing():
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            self.proc.stdin.write(encode(message))

    def ping(self) -> None:
        self._ping_n += 1
        self.send(Ping(self._ping_n))

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    def answered_within(self, seconds: float) -> bool:
        return time.monotonic() - self.last_pong <= seconds

    def exit_reason(self) -> str:
        code = self.proc.returncode
        if code is None:
            return "still running"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exited with status {code}"

    async def kill(self) -> None:
        """SIGKILL the whole process group (engine subprocesses included) and reap the child."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        await self.proc.wait()
        self._reader.cancel()

    async def stop(self, timeout: float = 10.0) -> None:
        """Ask politely (close stdin), then kill the group."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), timeout)
        await self.kill()


def kill_stale_worker(pgid_file: Path) -> int:
    """After a kill -9 of an earlier daemon: kill whatever is left of its worker's process group."""
    try:
        pgid = int(pgid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    killed = 0
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if os.getpgid(proc.pid) != pgid or proc.pid == os.getpid():
                continue
        except (ProcessLookupError, PermissionError):
            continue
        if _is_our_worker(proc):
            with contextlib.suppress(psutil.Error):
                proc.kill()
                killed += 1
    with contextlib.suppress(OSError):
        pgid_file.unlink()
    if killed:
        log.warning("killed %d leftover worker process(es) of group %d", killed, pgid)
    return killed


def _is_our_worker(proc: psutil.Process) -> bool:
    """Every process of a worker (engine subprocesses too) inherits MAIE_WORKER_PARENT: a pgid reused by
    an unrelated program is never touched."""
    try:
        return "MAIE_WORKER_PARENT" in proc.environ()
    except psutil.Error:
        return False
