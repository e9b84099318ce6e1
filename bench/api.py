"""The API over the Unix socket: submit latency (1 MB, 100 MB), status reads with 50 concurrent clients, RSS.

The worker is parked on a first task that waits (the tests' fake ASR backend,
ASR_BACKEND_MODULE=tests.fake_asr, file named `hang-*`), so every measured upload stays PENDING and no
transcription competes for the CPU: what is timed is the HTTP path (stream to disk, probe, store). Everything is cancelled before the daemon stops.

    python -m bench.api [--quick] [--device cpu|cuda] [--small N] [--large N] [--clients 50] [--seconds 10]
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

import httpx

from bench._common import (
    machine_line,
    median,
    parser,
    percentile,
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


def submit_latencies(daemon: Daemon, path: Path, count: int) -> list[float]:
    seconds = []
    with daemon.client(timeout=600) as client:
        for _ in range(count):
            with open(path, "rb") as fh:
                started = time.perf_counter()
                r = client.post("/v1/process", files={"file": (path.name, fh)}, data={"language": "en"})
                seconds.append(time.perf_counter() - started)
            if r.status_code != 202:
                raise RuntimeError(f"submit answered {r.status_code}: {r.text}")
    return seconds


async def _reader(socket: str, task_id: str, until: float, latencies: list[float]) -> None:
    transport = httpx.AsyncHTTPTransport(uds=socket)
    async with httpx.AsyncClient(transport=transport, base_url="http://maied", timeout=60) as client:
        while time.perf_counter() < until:
            started = time.perf_counter()
            r = await client.get(f"/v1/status/{task_id}")
            latencies.append(time.perf_counter() - started)
            r.raise_for_status()


def status_reads(daemon: Daemon, task_id: str, clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(_reader(str(daemon.socket), task_id, started + seconds, latencies)
                               for _ in range(clients)))
        return time.perf_counter() - started

    wall = asyncio.run(run())
    return {"count": len(latencies), "rps": len(latencies) / wall, "p50": median(latencies),
            "p99": percentile(latencies, 99)}


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
                lat = submit_latencies(daemon, path, small if label == "1 MB" else large)
                mb = path.stat().st_size / 1e6
                rows.append([label, len(lat), median(lat), percentile(lat, 99), mb / median(lat)])
        with RssSampler(pid) as read_rss:
            reads = status_reads(daemon, blocker, args.clients, seconds)
        after = tree_rss_mb(pid)
        cancel_all(daemon)
    print_table("submit latency over the socket (seconds; worker parked, tasks stay PENDING)",
                ["upload", "n", "p50", "p99", "MB/s at p50"], rows)
    print_table(f"status reads: {args.clients} concurrent clients for {seconds:g} s",
                ["requests", "req/s", "p50 ms", "p99 ms"],
                [[reads["count"], reads["rps"], 1000 * reads["p50"], 1000 * reads["p99"]]])
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
