"""K=50 concurrent clients submit and long-poll over the socket while a task runs: no answer other than
202/200 and the intended 429 QUEUE_FULL, every accepted task completes, and the p99 latency of plain
status reads is printed (and bounded)."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.e2e.daemon_harness import TERMINAL, Daemon, running_daemon
from tests.fake_asr import FAKE_ASR
from tests.reliability.helpers import LONG, tone_wav

pytestmark = pytest.mark.slow

CLIENTS = 50
TASKS_EACH = 10 if LONG else 3
P99_LIMIT_SECONDS = 2.0


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: Counter[str] = Counter()
        self.read_latency: list[float] = []
        self.accepted: list[str] = []
        self.failures: list[str] = []


def _client(daemon: Daemon, audio: Path, tally: Tally, deadline: float) -> None:
    with daemon.client(timeout=90) as c:
        for _ in range(TASKS_EACH):
            task_id = _submit_until_queued(c, audio, tally, deadline)
            if task_id is None:
                return
            while time.monotonic() < deadline:
                started = time.monotonic()
                r = c.get(f"/v1/status/{task_id}")
                with tally.lock:
                    tally.read_latency.append(time.monotonic() - started)
                    tally.answers[f"status {r.status_code}"] += 1
                if r.status_code != 200 or r.json()["status"] in TERMINAL:
                    break
                r = c.get(f"/v1/status/{task_id}", params={"wait": 10})  # long-poll for the next change
                with tally.lock:
                    tally.answers[f"long-poll {r.status_code}"] += 1


def _submit_until_queued(c: httpx.Client, audio: Path, tally: Tally, deadline: float) -> str | None:
    while time.monotonic() < deadline:
        r = c.post("/v1/process", files={"file": (audio.name, audio.read_bytes())})
        with tally.lock:
            tally.answers[f"submit {r.status_code}"] += 1
        if r.status_code == 202:
            with tally.lock:
                tally.accepted.append(r.json()["task_id"])
            return str(r.json()["task_id"])
        if r.status_code != 429 or r.json()["error"]["code"] != "QUEUE_FULL":
            with tally.lock:
                tally.failures.append(f"{r.status_code} {r.text[:200]}")
            return None
        time.sleep(0.2)  # a well-behaved client backs off (the daemon says Retry-After)
    return None


def test_fifty_clients_submit_and_long_poll(tmp_path: Path) -> None:
    audio = tone_wav(tmp_path / "fake0.02-load.wav")
    busy = tone_wav(tmp_path / "fake3-busy.wav")
    tally = Tally()
    with running_daemon(**FAKE_ASR, LLM_BACKEND="none", MAX_QUEUE_DEPTH="40") as daemon:
        running = daemon.submit(busy).json()["task_id"]
        daemon.wait_for(running, {"PROCESSING_ASR"})
        deadline = time.monotonic() + 240
        threads = [threading.Thread(target=_client, args=(daemon, audio, tally, deadline)) for _ in range(CLIENTS)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - started
        assert not tally.failures, tally.failures[:5]
        assert len(tally.accepted) == CLIENTS * TASKS_EACH, tally.answers
        statuses = {daemon.status(t)["status"] for t in tally.accepted}
        assert statuses == {"COMPLETE"}, statuses
    allowed = {"submit 202", "submit 429", "status 200", "long-poll 200"}
    assert set(tally.answers) <= allowed, tally.answers
    lat = sorted(tally.read_latency)
    p50, p99 = statistics.median(lat), lat[int(0.99 * (len(lat) - 1))]
    print(f"\nload: {CLIENTS} clients, {len(tally.accepted)} tasks in {seconds:.0f} s, answers {dict(tally.answers)}, "
          f"status read p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")
    assert p99 < P99_LIMIT_SECONDS
