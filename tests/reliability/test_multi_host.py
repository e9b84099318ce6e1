"""Several hosts on one PostgreSQL queue: three real `maied` processes (own sockets and DATA_DIR, one shared
AUDIO_DIR, WORKER_NAME h1..h3) on a real private PostgreSQL server share a queue of 60+ tasks submitted to
all three. One host is killed with kill -9 mid-task, twice, and not restarted at once: its task is finished
by another host once its lease expired, and every task ends COMPLETE exactly once with its own result. A
long-poll on one host wakes when another host completes the task.

The ASR stage is the worker's fake one (file names `fake*-`, MAIE_TEST_HOOKS=1); decoding, the queue, the
store, the supervisors and the worker children are the real ones.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from maied.worker.test_hooks import fake_transcript
from tests.e2e.daemon_harness import TERMINAL, Daemon
from tests.reliability.helpers import tone_wav, worker_processes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TASKS = 60
LEASE_SECONDS = 4
RUNNING = ("PREPROCESSING", "PROCESSING_ASR", "PROCESSING_LLM")


def host_env(url: str, audio_dir: Path, name: str) -> dict[str, str]:
    return {"DATABASE_URL": url, "AUDIO_DIR": str(audio_dir), "WORKER_NAME": name, "MAIE_TEST_HOOKS": "1",
            "LLM_BACKEND": "none", "TASK_LEASE_SECONDS": str(LEASE_SECONDS), "MAX_QUEUE_DEPTH": "10000"}


@contextmanager
def cluster(url: str, names: list[str]) -> Iterator[tuple[dict[str, Daemon], Path]]:
    root = Path(tempfile.mkdtemp(prefix="maie-mh-", dir=tempfile.gettempdir()))
    audio = root / "shared-audio"
    hosts: dict[str, Daemon] = {}
    try:
        for name in names:
            (root / name).mkdir()
            hosts[name] = Daemon(root / name, host_env(url, audio, name))
            hosts[name].start()
        yield hosts, root
    finally:
        for daemon in hosts.values():
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.terminate()
        shutil.rmtree(root, ignore_errors=True)


def rows(url: str) -> dict[str, dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        found = conn.execute("SELECT id, status, worker, requeues, results, completed_at, error FROM tasks").fetchall()
    return {r["id"]: r for r in found}


def running_on(url: str, host: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT id FROM tasks WHERE worker = %s AND status = ANY(%s) AND claim_token IS NOT NULL",
                           (host, list(RUNNING))).fetchone()
    return None if row is None else str(row[0])


def kill_mid_task(url: str, daemon: Daemon, host: str, timeout: float = 120.0) -> str:
    """kill -9 `host` while it runs a task (its worker child dies with it); the id of that task."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running_on(url, host) is not None:
            daemon.kill9()
            task = running_on(url, host)  # still ours after the kill: cut off mid-task
            if task is not None:
                return task
            daemon.start()  # it finished between the look and the kill: try again
        time.sleep(0.02)
    raise AssertionError(f"{host} never ran a task")


def long_poll_until_complete(daemon: Daemon, task_id: str, seen: dict[str, float], host: str) -> None:
    body = daemon.status(task_id)
    while body["status"] not in TERMINAL:
        body = daemon.status(task_id, wait=30)
    seen[host] = time.time()


def test_three_hosts_share_one_queue_through_kills(pg_url: str, tmp_path: Path) -> None:
    names = ["h1", "h2", "h3"]
    with cluster(pg_url, names) as (hosts, root):
        # A long-poll on every host; the two that did not run the task wake on NOTIFY.
        probe = hosts["h1"].submit(tone_wav(tmp_path / "fake1-probe.wav"))
        assert probe.status_code == 202, probe.text
        probe_id = probe.json()["task_id"]
        seen: dict[str, float] = {}
        pollers = [threading.Thread(target=long_poll_until_complete, args=(hosts[n], probe_id, seen, n))
                   for n in names]
        for thread in pollers:
            thread.start()
        for thread in pollers:
            thread.join(120)
        done = hosts["h2"].status(probe_id)
        assert done["status"] == "COMPLETE" and done["worker"] in names
        completed = datetime.fromisoformat(done["completed_at"].replace("Z", "+00:00")).timestamp()
        for name in names:
            assert seen[name] - completed < 2.0, (name, seen[name] - completed, done["worker"])

        accepted = [probe_id]
        tone = tone_wav(tmp_path / "tone.wav")
        for i in range(TASKS):
            daemon = hosts[names[i % 3]]
            response = daemon.submit(shutil.copyfile(tone, tmp_path / f"fake1-{i}.wav"))
            assert response.status_code == 202, response.text
            accepted.append(response.json()["task_id"])

        killed = []
        for _ in range(2):
            task = kill_mid_task(pg_url, hosts["h1"], "h1")
            killed.append(task)
            finished = hosts["h2"].wait_for(task, TERMINAL, timeout=120)  # after its lease expired
            assert finished["status"] == "COMPLETE" and finished["worker"] in ("h2", "h3"), finished
            hosts["h1"].start()  # not at once: only after another host finished its task

        for task_id in accepted:
            hosts[names[accepted.index(task_id) % 3]].wait_for(task_id, TERMINAL, timeout=300)
        final = rows(pg_url)
        assert set(final) == set(accepted)
        for task_id in accepted:
            row = final[task_id]
            assert row["status"] == "COMPLETE", row
            assert json.loads(row["results"])["raw_transcript"] == fake_transcript(task_id)
        for task_id in killed:
            assert final[task_id]["requeues"] >= 1 and final[task_id]["worker"] != "h1"
        assert {r["worker"] for r in final.values()} == set(names)  # every host took its share

        health = hosts["h3"].client().get("/health").json()
        assert sorted(h["name"] for h in health["hosts"]) == names and health["worker"] == "h3"
        metrics = hosts["h1"].client().get("/metrics").text
        assert f'maie_tasks{{status="COMPLETE"}} {len(accepted)}' in metrics

        pids = {d.proc.pid for d in hosts.values() if d.proc is not None}
        for daemon in hosts.values():
            assert daemon.terminate() == 0, daemon.log.read_text()[-3000:]
        assert worker_processes(pids) == []
        assert not _completed_twice(root, names), "a task was completed by two hosts"


def _completed_twice(root: Path, names: list[str]) -> list[str]:
    """Tasks whose COMPLETE was written by more than one host (each host logs only its own writes)."""
    writers: dict[str, set[str]] = {}
    for name in names:
        for log in (root / name / "logs").glob("*.log*"):
            for line in log.read_text().splitlines():
                if '"task_status"' not in line:
                    continue
                event = json.loads(line)
                if event.get("status") == "COMPLETE":
                    writers.setdefault(event["task_id"], set()).add(name)
    return [t for t, hosts in writers.items() if len(hosts) > 1]


def test_a_host_with_another_audio_folder_refuses_to_start(pg_url: str, tmp_path: Path) -> None:
    with cluster(pg_url, ["h1"]):
        stray = Daemon(tmp_path / "h2-state", host_env(pg_url, tmp_path / "local-audio", "h2"))
        stray.state.mkdir()
        with pytest.raises(RuntimeError, match="not the cluster's shared audio folder"):
            stray.start()
        lines = [line for line in stray.log.read_text().splitlines() if line.startswith("maied: error:")]
        assert len(lines) == 1 and "AUDIO_DIR" in lines[0], stray.log.read_text()[-2000:]
