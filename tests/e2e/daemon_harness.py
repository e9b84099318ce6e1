"""Run the real `maied serve` as a subprocess on a real Unix socket, and talk to it over HTTP.

Readiness is awaited the way systemd does it: the test is the NOTIFY_SOCKET and waits for READY=1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parents[2]


class Daemon:
    def __init__(self, state: Path, env: dict[str, str]):
        self.state = state
        self.socket = state / "s.sock"
        self.data_dir = state / "data"
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = state / "maied.log"
        self.notify_path = state / "notify.sock"

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if self.notify_path.exists():
            self.notify_path.unlink()
        notify.bind(str(self.notify_path))
        env = dict(os.environ, MAIE_ENV_FILE=str(self.state / "none.env"), DATA_DIR=str(self.data_dir),
                   API_SOCKET=str(self.socket), NOTIFY_SOCKET=str(self.notify_path), LOG_DIR=str(self.state / "logs"))
        env.update(self.env)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "maied.cli", "serve"], env=env, cwd=REPO,
                                         stdout=log, stderr=subprocess.STDOUT)
        try:
            self._await_notify(notify, "READY=1", timeout)
        finally:
            notify.close()

    def _await_notify(self, notify: socket.socket, wanted: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        notify.settimeout(1.0)
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"maied exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                message = notify.recv(4096).decode()
            except TimeoutError:
                continue
            if wanted in message.split("\n"):
                return
        raise RuntimeError(f"maied did not send {wanted} in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def terminate(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def worker_pids(self) -> list[int]:
        """Every process of the current worker child's process group."""
        try:
            pgid = int((self.data_dir / "run" / "worker.pgid").read_text().split()[0])
        except (OSError, ValueError, IndexError):  # not written yet
            return []
        pids = []
        for proc in psutil.process_iter():
            try:
                if os.getpgid(proc.pid) == pgid:
                    pids.append(proc.pid)
            except (ProcessLookupError, PermissionError):
                continue
        return pids

    # --- HTTP -----------------------------------------------------------------------------------
    def client(self, timeout: float = 120.0) -> httpx.Client:
        return httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket)), base_url="http://maied",
                            timeout=timeout)

    def submit(self, path: Path, **fields: Any) -> httpx.Response:
        data = {k: (json.dumps(v) if isinstance(v, list) else str(v)) for k, v in fields.items()}
        with self.client() as c, open(path, "rb") as fh:
            return c.post("/v1/process", files={"file": (path.name, fh)}, data=data)

    def status(self, task_id: str, wait: float = 0) -> dict[str, Any]:
        with self.client() as c:
            r = c.get(f"/v1/status/{task_id}", params={"wait": wait} if wait else None)
        r.raise_for_status()
        return r.json()

    def wait_for(self, task_id: str, statuses: set[str], timeout: float = 300.0) -> dict[str, Any]:
        """Long-poll until the task reaches one of `statuses`."""
        deadline = time.monotonic() + timeout
        body = self.status(task_id)
        while body["status"] not in statuses:
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_id} stuck in {body['status']}:\n{self.log.read_text()[-3000:]}")
            body = self.status(task_id, wait=min(30.0, max(1.0, deadline - time.monotonic())))
        return body


TERMINAL = {"COMPLETE", "FAILED", "CANCELLED"}


def all_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    """The pids still alive after `timeout` (zombies count as gone)."""
    procs = []
    for pid in pids:
        try:
            procs.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            continue
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    return [p.pid for p in alive if _not_zombie(p)]


def _not_zombie(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@contextmanager
def running_daemon(**env: str) -> Iterator[Daemon]:
    state = Path(tempfile.mkdtemp(prefix="maie-", dir=tempfile.gettempdir()))
    daemon = Daemon(state, {k: str(v) for k, v in env.items()})
    daemon.start()
    try:
        yield daemon
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.terminate()
        shutil.rmtree(state, ignore_errors=True)
