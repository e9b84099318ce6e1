"""The API over the Unix socket, driven by autocannon: submit latency (1 MB, 100 MB), status reads, RSS.

The load generator is autocannon (Node.js; `npm install -g autocannon`, v9) with `--socketPath`, not a Python
client sharing the daemon's interpreter costs: status reads from `--clients` connections for `--seconds`,
submits (multipart, one connection, one after another) of a 1 MB and a 100 MB WAV.
The worker is parked on a first task that waits (the tests' fake ASR backend,
ASR_BACKEND_MODULE=tests.fake_asr, file named `hang-*`), so every measured upload stays PENDING and no transcription competes for the CPU: what is timed
is the HTTP path (stream to disk, probe, store). Everything is cancelled before the daemon stops.

    npm install -g autocannon   # once
    python -m bench.api [--quick] [--device cpu|cuda] [--small N] [--large N] [--clients 50] [--seconds 10]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

from bench._common import (
    machine_line,
    parser,
    print_table,
    speech_wav,
    tone_wav_of_size,
    tree_rss_mb,
)
from bench._daemon import Daemon, RssSampler, bench_daemon
from tests.fake_asr import FAKE_ASR


def park_worker(daemon: Daemon, work: Path) -> str:
    blocker = work / "hang-blocker.wav"
    shutil.copyfile(speech_wav(5.0), blocker)
    task_id = daemon.submit(blocker).json()["task_id"]
    body = daemon.status(task_id)
    while body["status"] == "PENDING":
        body = daemon.status(task_id, wait=10)
    return task_id


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the daemon's main process has used: what a request costs, whatever the load."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def autocannon(socket: Path, path: str, *args: str) -> dict[str, Any]:
    """Run autocannon against the daemon's socket; its JSON summary."""
    tool = shutil.which("autocannon")
    if tool is None:
        raise SystemExit("bench.api needs autocannon: npm install -g autocannon")
    out = subprocess.run([tool, "--json", "--socketPath", str(socket), *args, f"http://maied{path}"],
                         capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def submit_latencies(daemon: Daemon, path: Path, count: int) -> dict[str, Any]:
    form = json.dumps({"file": {"type": "file", "path": str(path), "options": {"filename": path.name}},
                       "language": {"type": "text", "value": "en"}})
    got = autocannon(daemon.socket, "/v1/process", "-c", "1", "-a", str(count), "-m", "POST", "--form", form,
                     "-t", "600")
    if got.get("non2xx") or got.get("errors"):
        raise RuntimeError(f"submits failed: {got.get('non2xx')} non-2xx, {got.get('errors')} errors")
    return got


def status_reads(daemon: Daemon, task_id: str, clients: int, seconds: float) -> dict[str, Any]:
    got = autocannon(daemon.socket, f"/v1/status/{task_id}", "-c", str(clients), "-d", str(seconds))
    if got.get("non2xx") or got.get("errors"):
        raise RuntimeError(f"reads failed: {got.get('non2xx')} non-2xx, {got.get('errors')} errors")
    return {"count": got["requests"]["total"], "rps": got["requests"]["average"],
            "p50": got["latency"]["p50"], "p99": got["latency"]["p99"]}


def cancel_all(daemon: Daemon) -> None:
    with daemon.client() as client:
        cursor: str | None = None
        while True:
            page = client.get("/v1/tasks", params={"limit": 100, **({"cursor": cursor} if cursor else {})}).json()
            for task in page.get("tasks", []):
                if task["status"] in ("PENDING", "PREPROCESSING", "PROCESSING_ASR", "PROCESSING_LLM"):
                    client.post(f"/v1/tasks/{task['task_id']}/cancel")
            cursor = page.get("next_cursor")
            if not cursor:
                return


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--small", type=int, help="1 MB submits (default 100, quick 10)")
    p.add_argument("--large", type=int, help="100 MB submits (default 20, quick 3)")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, help="status-read duration (default 10, quick 3)")
    args = p.parse_args()
    small, large = args.small or (10 if args.quick else 100), args.large or (3 if args.quick else 20)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    files = {"1 MB": tone_wav_of_size(1), "100 MB": tone_wav_of_size(100)}
    print(f"machine: {machine_line()}; device {args.device}")
    with bench_daemon(args.device, **FAKE_ASR, MAX_QUEUE_DEPTH="10000", MAX_FILE_SIZE_MB="200",
                      DISK_THRESHOLD="95") as daemon:
        assert daemon.proc is not None
        pid = daemon.proc.pid
        time.sleep(2.0)  # let start-up settle before the idle reading (no event marks "idle")
        idle = tree_rss_mb(pid)
        blocker = park_worker(daemon, daemon.state)
        rows = []
        with RssSampler(pid) as upload_rss:
            for label, path in files.items():
                cpu0 = cpu_seconds(pid)
                got = submit_latencies(daemon, path, small if label == "1 MB" else large)
                n, lat = got["requests"]["total"], got["latency"]
                mb = path.stat().st_size / 1e6
                rows.append([label, n, lat["p50"], lat["p99"], lat["max"], mb / (lat["p50"] / 1000),
                             1000 * (cpu_seconds(pid) - cpu0) / n])
        with RssSampler(pid) as read_rss:
            cpu0 = cpu_seconds(pid)
            reads = status_reads(daemon, blocker, args.clients, seconds)
            reads["cpu_ms"] = 1000 * (cpu_seconds(pid) - cpu0) / reads["count"]
        after = tree_rss_mb(pid)
        cancel_all(daemon)
    print_table("submit latency over the socket (autocannon, 1 connection; ms; worker parked, tasks stay PENDING)",
                ["upload", "n", "p50 ms", "p99 ms", "max ms", "MB/s at p50", "daemon CPU ms/request"], rows)
    print_table(f"status reads (autocannon): {args.clients} connections for {seconds:g} s",
                ["requests", "req/s", "p50 ms", "p99 ms", "daemon CPU ms/request", "load average"],
                [[reads["count"], reads["rps"], reads["p50"], reads["p99"], reads["cpu_ms"],
                  f"{os.getloadavg()[0]:.1f}"]])
    print_table("daemon RSS (MB): main process / worker child (+ its children) / total",
                ["moment", "main", "worker", "total"],
                [["idle (after READY, no task yet)", idle["main"], idle["children"], idle["total"]],
                 ["peak during uploads", upload_rss.peak["main"], upload_rss.peak["children"],
                  upload_rss.peak["total"]],
                 ["peak during status reads", read_rss.peak["main"], read_rss.peak["children"],
                  read_rss.peak["total"]],
                 ["after the load", after["main"], after["children"], after["total"]]])


if __name__ == "__main__":
    main()
