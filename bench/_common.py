"""What every benchmark shares: arguments, statistics, the table printer, speech recordings, RSS and GPU memory."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path

import psutil

from tests.audio_fixtures import require_tools, speak_wav

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(tempfile.gettempdir()) / "maie-bench"
SENTENCES = (
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Please send the quarterly report to the finance team before Friday afternoon.",
    "Our meeting today covers the sales plan for the northern region and the new warehouse.",
    "The customer asked whether the delivery could be moved to the second week of March.",
    "We agreed to review the budget again after the engineers finish their estimate.",
    "Remember to back up the database every night and to check the logs each morning.",
    "The weather was cold and windy, so the outdoor event was moved into the main hall.",
    "Training for the support staff starts on Monday at nine o'clock in room twelve.",
)


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a short sanity run (small sizes, few repetitions)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="WHISPER_DEVICE for every run")
    return p


def compute_type(device: str) -> str:
    """What WHISPER_COMPUTE_TYPE=auto resolves to (maied.asr.whisper.resolve_compute_type)."""
    return "float16" if device == "cuda" else "int8"


def models_dir() -> Path:
    """One models folder for every benchmark run, so the embedded model is placed once."""
    path = CACHE / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- statistics -------------------------------------------------------------------------------------
def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (with few samples p99 is the maximum)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --- output -----------------------------------------------------------------------------------------
def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A Markdown pipe table: readable in a terminal and pasted as is into docs/benchmarks.md."""
    cells = [[str(h) for h in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n### {title}\n")
    for i, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print(flush=True)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    model = _cpu_model() or cpu
    mem = psutil.virtual_memory().total / 2**30
    load = os.getloadavg()
    return (f"{model}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}, "
            f"load average at start {load[0]:.1f}")


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


# --- recordings -------------------------------------------------------------------------------------
def speech_wav(seconds: float, gap: float = 0.4) -> Path:
    """`seconds` of espeak-ng English speech (varied sentences, short pauses) as 16 kHz mono WAV; cached."""
    target = CACHE / "audio" / f"speech-{seconds:g}s-gap{gap:g}.wav"
    if target.exists():
        return target
    require_tools("espeak-ng", "sox")
    target.parent.mkdir(parents=True, exist_ok=True)
    unit = _speech_unit(gap)
    unit_seconds = wav_seconds(unit)
    repeats = max(0, int(seconds // unit_seconds))  # sox `repeat N` plays the input N+1 times
    tmp = target.with_suffix(".tmp.wav")
    subprocess.run(["sox", str(unit), str(tmp), "repeat", str(repeats), "trim", "0", f"{seconds:g}"],
                   check=True, capture_output=True)
    tmp.rename(target)
    return target


def _speech_unit(gap: float) -> Path:
    """Every sentence once, each followed by `gap` seconds of silence, resampled to 16 kHz mono."""
    folder = CACHE / "audio"
    unit = folder / f"unit-gap{gap:g}.wav"
    if unit.exists():
        return unit
    parts = []
    for i, text in enumerate(SENTENCES):
        raw = speak_wav(text, folder / f"sentence-{i}.wav")
        padded = folder / f"sentence-{i}-16k.wav"
        subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(padded), "pad", "0", f"{gap:g}"],
                       check=True, capture_output=True)
        parts.append(str(padded))
    subprocess.run(["sox", *parts, str(unit)], check=True, capture_output=True)
    return unit


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def tone_wav_of_size(megabytes: float) -> Path:
    """A 16 kHz mono 16-bit WAV of about `megabytes` MB (content irrelevant: for upload timing)."""
    target = CACHE / "audio" / f"tone-{megabytes:g}MB.wav"
    if target.exists():
        return target
    require_tools("sox")
    target.parent.mkdir(parents=True, exist_ok=True)
    seconds = megabytes * 1_000_000 / 32000
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(target), "synth", f"{seconds:.3f}",
                    "sine", "440", "vol", "0.3"], check=True, capture_output=True)
    return target


# --- memory -----------------------------------------------------------------------------------------
def tree_rss_mb(pid: int) -> dict[str, float]:
    """RSS of a process and of all its descendants, in MB."""
    try:
        proc = psutil.Process(pid)
        main = proc.memory_info().rss
        children = 0
        for child in proc.children(recursive=True):
            try:
                children += child.memory_info().rss
            except psutil.NoSuchProcess:
                continue
    except psutil.NoSuchProcess:
        return {"main": 0.0, "children": 0.0, "total": 0.0}
    return {"main": main / 1e6, "children": children / 1e6, "total": (main + children) / 1e6}


def gpu_memory_mb() -> float | None:
    """GPU memory in use (all processes) per nvidia-smi, or None without one."""
    if shutil.which("nvidia-smi") is None:
        return None
    out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, check=False)
    try:
        return float(out.stdout.split()[0])
    except (IndexError, ValueError):
        return None
