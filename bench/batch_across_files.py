"""Would decoding several short queued recordings in one batched call pay? Measured in-process.

N recordings of `--seconds` each (slices of bench.corpus `en`). One by one: BatchedInferencePipeline on
each (VAD on, word times: what the worker does per task). Together: the N recordings joined, one
BatchedInferencePipeline call with one clip per recording (`clip_timestamps`), so up to `--batch` files
share each decode. Alternated runs, medians; seconds per recording and how many words differ.

    python -m bench.batch_across_files [--quick] [--files 16] [--seconds 5] [--runs 3] [--batch 8]
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from bench._common import compute_type, machine_line, median, models_dir, parser, print_table
from bench.corpus import clip

SAMPLE_RATE = 16000


def one_by_one(batched: Any, pieces: list[np.ndarray], batch: int) -> tuple[float, list[str]]:
    started = time.perf_counter()
    texts = []
    for audio in pieces:
        segments, _ = batched.transcribe(audio, language="en", word_timestamps=True, batch_size=batch)
        texts.append(" ".join(s.text.strip() for s in segments))
    return time.perf_counter() - started, texts


def together(batched: Any, pieces: list[np.ndarray], batch: int) -> tuple[float, list[str]]:
    started = time.perf_counter()
    joined = np.concatenate(pieces)
    bounds, at = [], 0.0
    for audio in pieces:
        length = audio.shape[0] / SAMPLE_RATE
        bounds.append({"start": at, "end": at + length})
        at += length
    segments, _ = batched.transcribe(joined, language="en", word_timestamps=True, batch_size=batch,
                                     clip_timestamps=bounds)
    texts = [""] * len(pieces)
    for s in segments:
        i = next(k for k, b in enumerate(bounds) if b["start"] - 0.01 <= s.start < b["end"])
        texts[i] = (texts[i] + " " + s.text.strip()).strip()
    return time.perf_counter() - started, texts


def main() -> None:
    from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio

    from maied.asr.embedded import ensure_embedded_whisper

    p = parser(__doc__.splitlines()[0])
    p.add_argument("--files", type=int, help="recordings (default 16, quick 8)")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--runs", type=int, help="alternated runs (default 3, quick 1)")
    p.add_argument("--batch", type=int, default=8)
    args = p.parse_args()
    files, runs = args.files or (8 if args.quick else 16), args.runs or (1 if args.quick else 3)
    print(f"machine: {machine_line()}; {files} recordings of {args.seconds:g} s, batch {args.batch}, {runs} runs")
    source = decode_audio(str(clip("en", files * args.seconds + 1).path), sampling_rate=SAMPLE_RATE)
    size = round(args.seconds * SAMPLE_RATE)
    pieces = [source[i * size:(i + 1) * size] for i in range(files)]
    model = WhisperModel(str(ensure_embedded_whisper(models_dir())), device=args.device,
                         compute_type=compute_type(args.device), cpu_threads=os.cpu_count() or 0)
    batched = BatchedInferencePipeline(model=model)
    one_by_one(batched, pieces[:1], args.batch)  # warm-up
    times: dict[str, list[float]] = {"one by one": [], "together": []}
    texts: dict[str, list[str]] = {}
    for i in range(runs):
        for name in (["one by one", "together"] if i % 2 == 0 else ["together", "one by one"]):
            seconds, texts[name] = (one_by_one if name == "one by one" else together)(batched, pieces, args.batch)
            times[name].append(seconds)
        print(f"run {i + 1}/{runs}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items())
              + f"; load {os.getloadavg()[0]:.1f}", flush=True)
    same = sum(a == b for a, b in zip(texts["one by one"], texts["together"], strict=True))
    base = median(times["one by one"])
    print_table(f"{files} recordings of {args.seconds:g} s (medians of {runs} alternated runs)",
                ["mode", "seconds", "s per recording", "speed-up", "range s", "same text"],
                [[k, median(v), median(v) / files, f"{base / median(v):.2f}x", f"{min(v):.1f}-{max(v):.1f}",
                  f"{same}/{files}"] for k, v in times.items()])


if __name__ == "__main__":
    main()
