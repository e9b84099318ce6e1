"""Plain faster-whisper in this process vs the same model through maied (submit -> COMPLETE).

Both warm (model loaded; load times reported apart), same model folder, device, compute type and decoding
options as maied uses, runs alternated (which goes first flips every run). Prints medians and the ratio.

    python -m bench.pipeline_overhead [--quick] [--device cpu|cuda] [--runs N] [--durations 10,60,600]
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from bench._common import (
    compute_type,
    gpu_memory_mb,
    machine_line,
    median,
    models_dir,
    parser,
    print_table,
    speech_wav,
)
from bench._daemon import Daemon, bench_daemon, run_through_daemon

LANGUAGE = "en"
# What a user would pass faster-whisper to get maied's sequential output (maied.asr.whisper.decode_kwargs with
# the pipeline defaults: beam 5 from WHISPER_BEAM_SIZE, word timestamps on, one temperature, Silero VAD on
# unless asked off); the daemon runs with WHISPER_BATCH_SIZE=0 so both sides decode the same way
# (bench.asr_speed compares the batched default).
PLAIN_KWARGS: dict[str, Any] = {
    "language": LANGUAGE, "beam_size": 5, "word_timestamps": True,
    "temperature": [0.0], "condition_on_previous_text": True,
}
VAD_PARAMETERS = {"threshold": 0.5, "min_silence_duration_ms": 1000}


def load_plain(device: str) -> tuple[Any, float]:
    from faster_whisper import WhisperModel

    from maied.asr.embedded import ensure_embedded_whisper

    folder = ensure_embedded_whisper(models_dir())
    started = time.perf_counter()
    model = WhisperModel(str(folder), device=device, compute_type=compute_type(device),
                         cpu_threads=os.cpu_count() or 0)
    return model, time.perf_counter() - started


def run_plain(model: Any, path: Path, vad: bool) -> tuple[float, str]:
    from faster_whisper import decode_audio

    vad_kwargs: dict[str, Any] = {"vad_filter": True, "vad_parameters": VAD_PARAMETERS} if vad else {}
    started = time.perf_counter()
    audio = decode_audio(str(path), sampling_rate=16000)
    segments, _info = model.transcribe(audio, **PLAIN_KWARGS, **vad_kwargs)
    text = " ".join(s.text.strip() for s in segments)
    return time.perf_counter() - started, text


def run_daemon(daemon: Daemon, path: Path, vad: bool) -> tuple[float, dict[str, Any]]:
    seconds, body = run_through_daemon(daemon, path, language=LANGUAGE, features=["raw_transcript"],
                                       enable_vad=str(vad).lower())
    return seconds, body


def measure(daemon: Daemon, model: Any, path: Path, runs: int, vad: bool) -> dict[str, Any]:
    plain: list[float] = []
    served: list[float] = []
    asr: list[float] = []
    for i in range(runs):
        order = ("plain", "daemon") if i % 2 == 0 else ("daemon", "plain")
        for which in order:
            if which == "plain":
                plain.append(run_plain(model, path, vad)[0])
            else:
                seconds, body = run_daemon(daemon, path, vad)
                served.append(seconds)
                asr.append(float(body["metrics"].get("asr_seconds") or 0.0))
    return {"plain": plain, "daemon": served, "asr": asr}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, help="runs per file and side (default 5, quick 2)")
    p.add_argument("--durations", help="comma list of seconds (default 10,60,600; quick 10,60)")
    p.add_argument("--no-vad", action="store_true", help="both sides without VAD (maied: enable_vad=false)")
    args = p.parse_args()
    vad = not args.no_vad
    runs = args.runs or (2 if args.quick else 5)
    durations = [float(d) for d in (args.durations or ("10,60" if args.quick else "10,60,600")).split(",")]
    vad_label = "on" if vad else "off"
    print(f"machine: {machine_line()}; device {args.device}/{compute_type(args.device)}; "
          f"{runs} runs per side; VAD {vad_label}")
    files = {d: speech_wav(d) for d in durations}
    gpu0 = gpu_memory_mb()
    with bench_daemon(args.device, WHISPER_BATCH_SIZE="0") as daemon:
        model, plain_load = load_plain(args.device)
        gpu1 = gpu_memory_mb()
        run_plain(model, files[durations[0]], vad)  # warm-up (first-call allocations)
        first_task, _ = run_daemon(daemon, files[durations[0]], vad)  # loads the daemon's model
        gpu2 = gpu_memory_mb()
        rows = []
        warm_first = 0.0
        for d in durations:
            m = measure(daemon, model, files[d], runs, vad)
            warm_first = warm_first or median(m["daemon"])
            plain_med, daemon_med = median(m["plain"]), median(m["daemon"])
            rows.append([f"{d:g} s", plain_med, daemon_med, daemon_med - plain_med,
                         f"{100 * (daemon_med / plain_med - 1):+.1f} %", median(m["asr"]),
                         f"{min(m['plain']):.2f}-{max(m['plain']):.2f}", f"{min(m['daemon']):.2f}-{max(m['daemon']):.2f}"])
    print_table(f"pipeline overhead ({args.device}, VAD {vad_label}, medians of {runs} alternated runs, seconds)",
                ["audio", "faster-whisper", "maied", "maied - fw", "overhead", "maied asr stage",
                 "fw range", "maied range"], rows)
    print_table("model load (seconds)", ["faster-whisper in-process (WhisperModel())",
                                         f"maied first task ({durations[0]:g} s file, cold)",
                                         "maied load (cold - warm median)"],
                [[plain_load, first_task, first_task - warm_first]])
    if gpu0 is not None:
        print_table("GPU memory (MiB)", ["before", "after plain load", "after daemon load"], [[gpu0, gpu1, gpu2]])


if __name__ == "__main__":
    main()
