"""maied vs plain faster-whisper, sequential and batched, on speech with pauses: RTF, WER, segment lengths.

Three sides on the same files (bench.corpus: `en`, eight English sentences with pauses of 0.3-3 s, repeated
to length; `--clips` adds others, e.g. `en-short`, short sentences with 1.5 s pauses, or `vi`), same model folder, device and compute type, runs alternated (the order rotates every run):
- `fw sequential`: `WhisperModel.transcribe(audio, language=..., vad_filter=True)`, faster-whisper's defaults
  otherwise (beam 5, the temperature fallback, condition_on_previous_text, no word times);
- `fw batched`: `BatchedInferencePipeline.transcribe(audio, language=...)`, its defaults (batch 8, VAD on);
- `maied`: a warm daemon with its defaults (submit -> COMPLETE over the socket), word times included.
Plain sides decode the file with faster_whisper.decode_audio inside the timed span, as a user's script would.

    python -m bench.asr_speed [--quick] [--device cpu|cuda] [--runs N] [--minutes 1,10,60] [--clips en,en-short,vi]
                              [--sequential-max 10]
"""

from __future__ import annotations

import os
import time
from typing import Any

from bench._common import compute_type, gpu_memory_mb, machine_line, median, models_dir, parser, print_table
from bench._daemon import bench_daemon, run_through_daemon
from bench.corpus import CLIP_NAMES, Clip, clip
from tests.audio_fixtures import wer

SIDES = ("fw sequential", "fw batched", "maied")


def plain(model: Any, batched: Any, side: str, c: Clip) -> tuple[float, str, list[tuple[float, str]]]:
    from faster_whisper import decode_audio

    started = time.perf_counter()
    audio = decode_audio(str(c.path), sampling_rate=16000)
    if side == "fw batched":
        segments, _ = batched.transcribe(audio, language=c.language)
    else:
        segments, _ = model.transcribe(audio, language=c.language, vad_filter=True)
    segs = [(s.end - s.start, s.text.strip()) for s in segments]
    return time.perf_counter() - started, " ".join(t for _, t in segs), segs


def served(daemon: Any, c: Clip) -> tuple[float, str, list[tuple[float, str]]]:
    seconds, body = run_through_daemon(daemon, c.path, language=c.language, features=["raw_transcript"])
    segs = [(s["end"] - s["start"], s["text"]) for s in body["results"]["segments"]]
    return seconds, body["results"]["raw_transcript"], segs


def measure(daemon: Any, model: Any, batched: Any, c: Clip, runs: int, sides: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {s: {"seconds": [], "wer": None, "segs": []} for s in sides}
    for i in range(runs):
        order = sides[i % len(sides):] + sides[:i % len(sides)]
        for side in order:
            got = served(daemon, c) if side == "maied" else plain(model, batched, side, c)
            out[side]["seconds"].append(got[0])
            out[side]["wer"], out[side]["segs"] = wer(c.reference, got[1]), got[2]
        print(f"  {c.path.stem} run {i + 1}/{runs}: " + ", ".join(
            f"{s} {out[s]['seconds'][-1]:.1f} s" for s in sides) + f"; load {os.getloadavg()[0]:.1f}", flush=True)
    return out


def distribution(segs: list[tuple[float, str]]) -> str:
    if not segs:
        return "-"
    lengths = sorted(d for d, _ in segs)
    p90 = lengths[min(len(lengths) - 1, int(0.9 * len(lengths)))]
    over = sum(1 for d, t in segs if d > 7.0 or len(t) > 84)
    return (f"n={len(segs)} p50 {median(lengths):.1f} s, p90 {p90:.1f} s, max {lengths[-1]:.1f} s, "
            f"max {max(len(t) for _, t in segs)} chars, {100 * over / len(segs):.0f} % > 7 s or 84 chars")


def main() -> None:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from maied.asr.embedded import ensure_embedded_whisper

    p = parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, help="alternated runs per side and file (default 3, quick 2)")
    p.add_argument("--minutes", help="comma list (default 1,10,60; quick 1,10)")
    p.add_argument("--clips", default="en", help="comma list of bench.corpus clips (default en)")
    p.add_argument("--sequential-max", type=float, default=1e9,
                   help="skip the plain sequential side on files longer than this many minutes")
    args = p.parse_args()
    runs = args.runs or (2 if args.quick else 3)
    minutes = [float(m) for m in (args.minutes or ("1,10" if args.quick else "1,10,60")).split(",")]
    print(f"machine: {machine_line()}; device {args.device}/{compute_type(args.device)}; {runs} runs per side")
    names = args.clips.split(",")
    unknown = sorted(set(names) - set(CLIP_NAMES))
    if unknown:
        p.error(f"unknown clip {', '.join(unknown)}; choose from {', '.join(CLIP_NAMES)}")
    clips = {(name, m): clip(name, m * 60) for m in minutes for name in names}
    model = WhisperModel(str(ensure_embedded_whisper(models_dir())), device=args.device,
                         compute_type=compute_type(args.device), cpu_threads=os.cpu_count() or 0)
    batched = BatchedInferencePipeline(model=model)
    gpu = [gpu_memory_mb()]
    with bench_daemon(args.device) as daemon:
        first = clip("en", 60)
        served(daemon, first)  # warm-up: loads the daemon's model
        plain(model, batched, "fw batched", first)
        gpu.append(gpu_memory_mb())
        rows: list[list[object]] = []
        dist: list[list[object]] = []
        for (name, m), c in clips.items():
            sides = [s for s in SIDES if not (s == "fw sequential" and m > args.sequential_max)]
            got = measure(daemon, model, batched, c, runs, sides)
            _rows(rows, dist, name, c, got)
    _print(rows, dist, runs, args.device, gpu)


def _rows(rows: list[list[object]], dist: list[list[object]], name: str, c: Clip, got: dict[str, Any]) -> None:
    seq = median(got["fw sequential"]["seconds"]) if "fw sequential" in got else float("nan")
    bat = median(got["fw batched"]["seconds"])
    for side, g in got.items():
        med = median(g["seconds"])
        rows.append([f"{name} {c.seconds / 60:.0f} min", side, med, f"{med / c.seconds:.4f}",
                     f"{min(g['seconds']):.1f}-{max(g['seconds']):.1f}", f"{100 * g['wer']:.1f} %",
                     f"{seq / med:.2f}x", f"{100 * (med / bat - 1):+.1f} %"])
        dist.append([f"{name} {c.seconds / 60:.0f} min", side, distribution(g["segs"])])


def _print(rows: list[list[object]], dist: list[list[object]], runs: int, device: str, gpu: list[Any]) -> None:
    print_table(f"ASR speed ({device}, medians of {runs} alternated runs)",
                ["audio", "side", "seconds", "RTF", "range s", "WER", "vs fw sequential", "vs fw batched"], rows)
    print_table("segment lengths (last run)", ["audio", "side", "distribution"], dist)
    if gpu[0] is not None:
        print_table("GPU memory (MiB)", ["before", "after both loads"], [gpu])


if __name__ == "__main__":
    main()
