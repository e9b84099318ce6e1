"""A real `maied serve` on a temporary socket for the benchmarks (the e2e harness, with bench defaults),
plus what the benchmarks do with it: submit -> complete timing, /metrics counters, RSS sampling."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench._common import models_dir, tree_rss_mb
from tests.e2e.daemon_harness import TERMINAL, Daemon, running_daemon

__all__ = ["TERMINAL", "Daemon", "RssSampler", "bench_daemon", "model_loads", "run_through_daemon"]


@contextmanager
def bench_daemon(device: str, **env: str) -> Iterator[Daemon]:
    """maied with the embedded Whisper model on `device`, no LLM, the shared models folder."""
    settings = {"MODELS_DIR": str(models_dir()), "LLM_BACKEND": "none", "WHISPER_DEVICE": device,
                "SHUTDOWN_GRACE_SECONDS": "5"}
    settings.update(env)
    with running_daemon(**settings) as daemon:
        yield daemon


def run_through_daemon(daemon: Daemon, path: Path, timeout: float = 7200.0,
                       **fields: Any) -> tuple[float, dict[str, Any]]:
    """Submit `path` and long-poll it to a terminal status: (client wall seconds, final status body)."""
    started = time.perf_counter()
    response = daemon.submit(path, **fields)
    if response.status_code != 202:
        raise RuntimeError(f"submit answered {response.status_code}: {response.text}")
    body = daemon.wait_for(response.json()["task_id"], TERMINAL, timeout=timeout)
    seconds = time.perf_counter() - started
    if body["status"] != "COMPLETE":
        raise RuntimeError(f"task ended {body['status']}: {body.get('error_code')} {body.get('error')}")
    return seconds, body


def model_loads(daemon: Daemon) -> int:
    """The sum of maie_model_loads_total over every kind, read from /metrics."""
    with daemon.client() as client:
        text = client.get("/metrics").text
    total = 0
    for line in text.splitlines():
        match = re.match(r"maie_model_loads_total(\{[^}]*\})?\s+([0-9.eE+]+)$", line)
        if match:
            total += int(float(match.group(2)))
    return total


class RssSampler:
    """Samples the daemon's RSS (main process and its children) in a thread; keeps the peaks."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid = pid
        self.interval = interval
        self.peak = {"main": 0.0, "children": 0.0, "total": 0.0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = tree_rss_mb(self.pid)
            for key, value in now.items():
                self.peak[key] = max(self.peak[key], value)
            self._stop.wait(self.interval)
