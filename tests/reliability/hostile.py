"""For the hostile-input tests: a monitor that reads /health every 0.25 s while an attack runs (worst
latency, answers that were not 200, the daemon's peak RSS), and a real task submitted afterwards."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
import psutil

from tests.e2e.daemon_harness import TERMINAL, Daemon
from tests.reliability.helpers import tone_wav

HEALTH_EVERY = 0.25
WORST_HEALTH_SECONDS = 1.0
"""The worst /health answer time allowed during an attack (the machine running the tests is shared)."""


@dataclass
class HealthMonitor:
    daemon: Daemon
    worst: float = 0.0
    reads: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: set[str] = field(default_factory=set)
    peak_rss_mb: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> HealthMonitor:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=60)
        print(f"\n/health: {self.reads} reads, worst {self.worst:.3f} s, statuses {sorted(self.statuses)},"
              f" daemon peak RSS {self.peak_rss_mb:.0f} MB")

    def _run(self) -> None:
        assert self.daemon.proc is not None
        proc = psutil.Process(self.daemon.proc.pid)
        with self.daemon.client(timeout=60) as client:
            while not self._stop.is_set():
                self._read(client, proc)
                self._stop.wait(HEALTH_EVERY)

    def _read(self, client: httpx.Client, proc: psutil.Process) -> None:
        started = time.monotonic()
        try:
            answer = client.get("/health")
            state = answer.json().get("status") if answer.status_code in (200, 503) else None
            if state is None or (answer.status_code == 503) != (state == "unhealthy"):
                self.failures.append(f"{answer.status_code}: {answer.text[:200]}")
            else:
                self.statuses.add(str(state))
        except httpx.HTTPError as exc:
            self.failures.append(repr(exc))
        self.worst = max(self.worst, time.monotonic() - started)
        self.reads += 1
        with contextlib.suppress(psutil.Error):
            self.peak_rss_mb = max(self.peak_rss_mb, proc.memory_info().rss / 2**20)

    def assert_responsive(self, worst: float = WORST_HEALTH_SECONDS) -> None:
        assert self.reads >= 2, "the monitor read /health fewer than twice"
        assert not self.failures, f"/health failed during the attack: {self.failures[:5]}"
        assert self.worst < worst, f"/health took {self.worst:.2f} s during the attack"


def later_task_completes(daemon: Daemon, work: Path, timeout: float = 60.0) -> None:
    """A real (tiny) recording submitted after the attack is transcribed (fake ASR, real decode)."""
    path = tone_wav(work / "fake0.01-after-attack.wav")
    response = daemon.submit(path)
    assert response.status_code == 202, response.text
    body = daemon.wait_for(response.json()["task_id"], TERMINAL, timeout=timeout)
    assert body["status"] == "COMPLETE", body
