"""Which decoding defaults: temperature fallback, VAD min silence, condition_on_previous_text, batched or not.

Plain faster-whisper (the embedded Whisper base, int8) on varied speech (bench.corpus: English and
Vietnamese with pauses of 0.3-3 s, the same with pink noise, and short English sentences repeated with
1.5 s pauses), each configuration on each clip, the order of configurations reversed every run; medians.
Reports seconds, WER and how many segments were decoded above temperature 0 (each one is a failed decode
done again).

    python -m bench.decoding_defaults [--quick] [--runs N] [--seconds 45] [--only batched,seq]
"""

from __future__ import annotations

import os
import time
from typing import Any

from bench._common import machine_line, median, models_dir, parser, print_table
from bench.corpus import Clip, clip
from tests.audio_fixtures import wer

LADDER = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
# name -> (batched?, temperatures, VAD min silence ms, condition_on_previous_text)
CONFIGS: dict[str, tuple[bool, tuple[float, ...], int, bool]] = {
    "seq ladder6 sil1000 cond (old default)": (False, LADDER, 1000, True),
    "seq ladder6 sil1000 nocond": (False, LADDER, 1000, False),
    "seq ladder6 sil500 cond": (False, LADDER, 500, True),
    "seq t0,0.2,0.4 sil500 nocond": (False, (0.0, 0.2, 0.4), 500, False),
    "seq t0 sil1000 cond": (False, (0.0,), 1000, True),
    "batched t0 sil160 (fw default: no timestamp tokens)": (True, (0.0,), 160, True),
    "batched t0 sil160 timestamps": (True, (0.0,), 160, False),
    "batched t0 sil500 timestamps": (True, (0.0,), 500, False),
    "batched t0 sil1000 timestamps": (True, (0.0,), 1000, False),
}
"""For batched configurations the last element is faster-whisper's `without_timestamps` (batched decoding
never conditions on previous text)."""
CLIPS = ("en-short", "en", "vi", "en-noise", "vi-noise")


def run(model: Any, batched: Any, config: tuple[bool, tuple[float, ...], int, bool], c: Clip) -> dict[str, float]:
    from faster_whisper import decode_audio

    is_batched, temps, silence, flag = config
    audio = decode_audio(str(c.path), sampling_rate=16000)
    vad = {"threshold": 0.5, "min_silence_duration_ms": silence}
    kwargs: dict[str, Any] = {"language": c.language, "beam_size": 5, "word_timestamps": True,
                              "temperature": list(temps), "vad_filter": True, "vad_parameters": vad}
    started = time.perf_counter()
    if is_batched:
        segments, _ = batched.transcribe(audio, batch_size=8, without_timestamps=flag, **kwargs)
    else:
        segments, _ = model.transcribe(audio, condition_on_previous_text=flag, **kwargs)
    segs = list(segments)
    seconds = time.perf_counter() - started
    text = " ".join(s.text.strip() for s in segs)
    return {"seconds": seconds, "wer": wer(c.reference, text),
            "fallbacks": float(sum(1 for s in segs if (s.temperature or 0) > 0)),
            "longest": max((s.end - s.start for s in segs), default=0.0)}


def main() -> None:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from maied.asr.embedded import ensure_embedded_whisper

    p = parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, help="runs per configuration and clip (default 3, quick 1)")
    p.add_argument("--seconds", type=float, help="length of each clip (default 45, quick 20)")
    p.add_argument("--only", help="comma list of words: run only the configurations whose name has one")
    args = p.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    seconds = args.seconds or (20.0 if args.quick else 45.0)
    print(f"machine: {machine_line()}; {runs} runs; clips of {seconds:g} s")
    clips = {name: clip(name, seconds) for name in CLIPS}
    model = WhisperModel(str(ensure_embedded_whisper(models_dir())), device=args.device,
                         compute_type="int8" if args.device == "cpu" else "float16", cpu_threads=os.cpu_count() or 0)
    batched = BatchedInferencePipeline(model=model)
    run(model, batched, CONFIGS["batched t0 sil160 timestamps"], clips["en"])  # warm-up
    chosen = [n for n in CONFIGS if not args.only or any(o in n for o in args.only.split(","))]
    samples: dict[tuple[str, str], list[dict[str, float]]] = {}
    for i in range(runs):
        names = chosen if i % 2 == 0 else list(reversed(chosen))
        for name in names:
            for c in CLIPS:
                samples.setdefault((name, c), []).append(run(model, batched, CONFIGS[name], clips[c]))
        print(f"run {i + 1}/{runs} done; load average {os.getloadavg()[0]:.1f}", flush=True)
    _report(samples, clips, runs, chosen)


def _report(samples: dict[tuple[str, str], list[dict[str, float]]], clips: dict[str, Clip], runs: int,
            chosen: list[str]) -> None:
    rows = []
    for name in chosen:
        row: list[object] = [name]
        total_s = total_audio = 0.0
        for c in CLIPS:
            got = samples[(name, c)]
            sec = median([g["seconds"] for g in got])
            total_s += sec
            total_audio += clips[c].seconds
            row.append(f"{sec:.1f} s / {100 * got[0]['wer']:.1f} % / {int(got[0]['fallbacks'])}"
                       f" / {got[0]['longest']:.0f} s")
        row.append(f"{total_s / total_audio:.3f}")
        rows.append(row)
    print_table(f"decoding defaults (median seconds of {runs} / WER / segments above T=0 / longest segment)",
                ["configuration", *CLIPS, "RTF all"], rows)


if __name__ == "__main__":
    main()
