"""50 short tasks queued at once through one maied vs the same pipeline as separate one-shot processes.

maied: a fresh daemon (READY, nothing loaded yet), every task submitted at once from threads, timed from
the first submit to the last COMPLETE (model load included); model loads read from /metrics.
One-shot: `maied transcribe FILE` run one after another (one GPU: they would not run side by side), each a
new process that imports, loads the model, transcribes and exits: what a per-job load/unload design costs.

    python -m bench.queue_throughput [--quick] [--device cpu|cuda] [--tasks 50] [--oneshots N] [--seconds 5]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench._common import REPO, machine_line, median, models_dir, parser, print_table, speech_wav
from bench._daemon import TERMINAL, Daemon, bench_daemon, model_loads

LANGUAGE = "en"


def queued(daemon: Daemon, path: Path, tasks: int) -> dict[str, Any]:
    loads_before = model_loads(daemon)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=min(tasks, 16)) as pool:
        responses = list(pool.map(lambda _: daemon.submit(path, language=LANGUAGE), range(tasks)))
    submitted = time.perf_counter() - started
    refused = [r.status_code for r in responses if r.status_code != 202]
    if refused:
        raise RuntimeError(f"{len(refused)} submits refused: {sorted(set(refused))}")
    ids = [r.json()["task_id"] for r in responses]
    bodies = [daemon.wait_for(i, TERMINAL, timeout=3600) for i in ids]
    wall = time.perf_counter() - started
    failed = [b for b in bodies if b["status"] != "COMPLETE"]
    if failed:
        raise RuntimeError(f"{len(failed)} tasks did not complete: {failed[0].get('error_code')}")
    return {"wall": wall, "submit_all": submitted, "loads": model_loads(daemon) - loads_before,
            "asr": median([float(b["metrics"].get("asr_seconds") or 0) for b in bodies])}


def oneshots(path: Path, count: int, device: str) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="maie-bench-oneshot-"))
    env = dict(os.environ, MAIE_ENV_FILE=str(data / "none.env"), DATA_DIR=str(data), LOG_DIR=str(data / "logs"),
               MODELS_DIR=str(models_dir()), LLM_BACKEND="none", WHISPER_DEVICE=device)
    each: list[float] = []
    started = time.perf_counter()
    try:
        for _ in range(count):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "maied.cli", "transcribe", str(path), "--language", LANGUAGE],
                           env=env, cwd=REPO, check=True, capture_output=True)
            each.append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return {"wall": time.perf_counter() - started, "each": each}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, help="tasks queued at once (default 50, quick 8)")
    p.add_argument("--oneshots", type=int, help="one-shot processes to time (default = --tasks)")
    p.add_argument("--seconds", type=float, default=5.0, help="length of each recording")
    args = p.parse_args()
    tasks = args.tasks or (8 if args.quick else 50)
    count = args.oneshots or tasks
    path = speech_wav(args.seconds)
    print(f"machine: {machine_line()}; device {args.device}; {tasks} tasks of {args.seconds:g} s")
    with bench_daemon(args.device, MAX_QUEUE_DEPTH=str(tasks + 10)) as daemon:
        q = queued(daemon, path, tasks)
    o = oneshots(path, count, args.device)
    daemon_rate = 60 * tasks / q["wall"]
    oneshot_rate = 60 * count / o["wall"]
    print_table(f"queue throughput ({args.device}, {args.seconds:g} s recordings)",
                ["design", "tasks", "wall s", "tasks/min", "s/task", "model loads"],
                [["maied queue (one daemon)", tasks, q["wall"], daemon_rate, q["wall"] / tasks, q["loads"]],
                 ["one-shot processes (maied transcribe)", count, o["wall"], oneshot_rate, o["wall"] / count,
                  f"{count} (one per process)"]])
    print_table("details", ["all submits answered (s)", "maied asr stage median (s)",
                            "one-shot process median (s)", "maied / one-shot throughput"],
                [[q["submit_all"], q["asr"], median(o["each"]), f"{daemon_rate / oneshot_rate:.2f}x"]])


if __name__ == "__main__":
    main()
