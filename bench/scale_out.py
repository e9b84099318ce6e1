"""Several maied hosts on one PostgreSQL queue: throughput with 1, 2 and 3 hosts, and claim latency.

Every "host" is a real `maied serve` on this machine (own socket and DATA_DIR, one shared AUDIO_DIR,
WORKER_NAME h1..h3) on a private PostgreSQL server (tests/postgres_server.py). The ASR stage is the test
suite's fake one (MAIE_TEST_HOOKS=1, files named `fake<seconds>-*`: the real decode, then a fixed wait), so
the numbers measure the queue machinery and how it spreads work, not GPUs: on one CPU-bound machine the
hosts share its cores. Claim latency is timed at the store (claim_next on a queue of pending tasks), for
PostgreSQL and for the embedded SQLite default.

    python -m bench.scale_out [--quick] [--tasks 60] [--task-seconds 0.5] [--hosts 1,2,3]
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench._common import machine_line, median, parser, percentile, print_table
from maied.domain import TaskKind, TaskRequest
from maied.store import NewTask, TaskQueue, TaskStore
from maied.store.postgres import PostgresTaskStore
from tests.e2e.daemon_harness import TERMINAL, Daemon
from tests.postgres_server import PostgresServer
from tests.reliability.helpers import tone_wav


def throughput(server: PostgresServer, hosts: int, tasks: int, task_seconds: float, work: Path) -> dict[str, float]:
    url = server.create_database("bench")
    root = Path(tempfile.mkdtemp(prefix="maie-bench-scale-", dir=tempfile.gettempdir()))
    daemons: list[Daemon] = []
    try:
        for n in range(hosts):
            (root / f"h{n + 1}").mkdir()
            daemons.append(Daemon(root / f"h{n + 1}", {
                "DATABASE_URL": url, "AUDIO_DIR": str(root / "audio"), "WORKER_NAME": f"h{n + 1}",
                "MAIE_TEST_HOOKS": "1", "LLM_BACKEND": "none", "MAX_QUEUE_DEPTH": "100000"}))
            daemons[-1].start()
        tone = tone_wav(work / "tone.wav")
        files = [shutil.copyfile(tone, work / f"fake{task_seconds:g}-{i}.wav") for i in range(tasks)]
        _warm_up(daemons, work, tone)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = list(pool.map(lambda i: _submit(daemons[i % hosts], files[i]), range(tasks)))
        bodies = [daemons[i % hosts].wait_for(task_id, TERMINAL, timeout=3600) for i, task_id in enumerate(ids)]
        wall = time.perf_counter() - started
        if any(b["status"] != "COMPLETE" for b in bodies):
            raise RuntimeError("a task did not complete")
        return {"wall": wall, "per_second": tasks / wall, "hosts_used": len({b["worker"] for b in bodies})}
    finally:
        for daemon in daemons:
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.terminate()
        shutil.rmtree(root, ignore_errors=True)


def _warm_up(daemons: list[Daemon], work: Path, tone: Path) -> None:
    """One task per host first, so that every worker child is started before the clock runs."""
    for n, daemon in enumerate(daemons):
        daemon.wait_for(_submit(daemon, shutil.copyfile(tone, work / f"fake0.01-warm{n}.wav")), TERMINAL)


def _submit(daemon: Daemon, path: Path) -> str:
    response = daemon.submit(path)
    if response.status_code != 202:
        raise RuntimeError(f"submit answered {response.status_code}: {response.text}")
    return str(response.json()["task_id"])


def claim_latency(store: TaskQueue, claims: int) -> list[float]:
    for i in range(claims):
        store.submit(NewTask(id=f"c{i}", kind=TaskKind.AUDIO, owner="uid:1", request=TaskRequest(),
                             audio_path=f"/a/c{i}"))
    seconds = []
    for _ in range(claims):
        t0 = time.perf_counter()
        record = store.claim_next()
        seconds.append(time.perf_counter() - t0)
        assert record is not None
    return seconds


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=60)
    p.add_argument("--task-seconds", type=float, default=0.5, help="the fake ASR stage's length per task")
    p.add_argument("--hosts", default="1,2,3")
    p.add_argument("--claims", type=int, default=500)
    args = p.parse_args()
    if args.quick:
        args.tasks, args.claims = 12, 100
    print(machine_line())
    print("note: every host runs on this one machine; when it is shared with other work the numbers are lower")
    server = PostgresServer().start()
    work = Path(tempfile.mkdtemp(prefix="maie-bench-files-", dir=tempfile.gettempdir()))
    try:
        rows = []
        for hosts in [int(h) for h in args.hosts.split(",")]:
            result = throughput(server, hosts, args.tasks, args.task_seconds, work)
            rows.append([hosts, args.tasks, result["wall"], result["per_second"], int(result["hosts_used"])])
        print_table(f"Throughput, {args.tasks} tasks of a {args.task_seconds:g} s fake ASR stage",
                    ["hosts", "tasks", "wall s", "tasks/s", "hosts that ran tasks"], rows)
        pg = PostgresTaskStore(server.create_database("claims"))
        lite = TaskStore(work / "claims.db")
        latency = []
        for name, store in (("PostgreSQL (unix socket)", pg), ("SQLite (default)", lite)):
            seconds = claim_latency(store, args.claims)
            latency.append([name, args.claims, median(seconds) * 1000, percentile(seconds, 99) * 1000])
            store.close()
        print_table("Claim latency (claim_next on a queue of pending tasks)", ["engine", "claims", "median ms",
                    "p99 ms"], latency)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
