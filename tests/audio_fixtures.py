"""Real recordings made on the spot for tests: espeak-ng speech, sox silence and tones, ffmpeg re-encodes.

Plain functions (no pytest fixtures) so that any test package can import them:
    from tests.audio_fixtures import speak_wav, encode, silence_wav
"""

from __future__ import annotations

import re
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

ENGLISH_TEXT = (
    "The quick brown fox jumps over the lazy dog. Please send the quarterly report to the finance team "
    "before Friday afternoon."
)
VIETNAMESE_TEXT = "Hôm nay trời đẹp. Chúng tôi họp về kế hoạch bán hàng của công ty vào buổi sáng."

# name -> (file suffix, ffmpeg output arguments)
ENCODINGS: dict[str, tuple[str, list[str]]] = {
    "wav": (".wav", ["-c:a", "pcm_s16le"]),
    "flac": (".flac", ["-c:a", "flac"]),
    "mp3": (".mp3", ["-c:a", "libmp3lame", "-b:a", "64k"]),
    "ogg": (".ogg", ["-c:a", "libvorbis"]),
    "opus": (".opus", ["-c:a", "libopus", "-b:a", "32k"]),
    "m4a": (".m4a", ["-c:a", "aac", "-b:a", "64k"]),
    "aac": (".aac", ["-c:a", "aac", "-b:a", "64k", "-f", "adts"]),
    "webm": (".webm", ["-c:a", "libopus", "-b:a", "32k"]),
    "mkv": (".mkv", ["-c:a", "flac"]),
    "mp4": (".mp4", ["-c:a", "aac", "-b:a", "64k"]),
}


def require_tools(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        raise RuntimeError(f"test recordings need {', '.join(missing)} (apt-get install {' '.join(missing)})")


def speak_wav(text: str, path: Path, voice: str = "en", words_per_minute: int = 150) -> Path:
    """Speak `text` with espeak-ng into a 16-bit WAV (espeak's own rate, 22050 Hz mono)."""
    require_tools("espeak-ng")
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(path), text],
        check=True,
        capture_output=True,
    )
    return path


def encode(src: Path, dst_dir: Path, name: str, extra_input: list[str] | None = None) -> Path:
    """Re-encode `src` with ffmpeg as one of ENCODINGS (by name) into `dst_dir`."""
    require_tools("ffmpeg")
    suffix, args = ENCODINGS[name]
    dst = dst_dir / f"{src.stem}-{name}{suffix}"
    cmd = [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        *(extra_input or []),
        "-i",
        str(src),
        *args,
        str(dst),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    return dst


def video_without_audio(path: Path, seconds: float = 2.0) -> Path:
    """An mp4 with one video track (a test pattern) and no audio track."""
    require_tools("ffmpeg")
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size=64x64:rate=10:duration={seconds}",
            "-c:v",
            "mpeg4",
            "-an",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return path


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000, channels: int = 1) -> Path:
    """Write float samples in [-1, 1] (shape (n,) or (n, channels)) as 16-bit PCM."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def silence_wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    return write_wav(path, np.zeros(int(seconds * rate), dtype=np.float32), rate)


def tone_wav(path: Path, seconds: float, freq: float = 440.0, rate: int = 44100, channels: int = 2) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.3 * np.sin(2 * np.pi * freq * t)
    samples = np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono
    return write_wav(path, samples, rate, channels)


def concat_wavs(paths: list[Path], dst: Path, gap_seconds: float = 0.5) -> Path:
    """Join WAVs (same rate) with `gap_seconds` of silence between them, with sox."""
    require_tools("sox")
    gap = dst.with_name(dst.stem + "-gap.wav")
    with wave.open(str(paths[0])) as first:
        rate = first.getframerate()
    silence_wav(gap, gap_seconds, rate)
    parts: list[str] = []
    for i, p in enumerate(paths):
        parts += ([str(gap)] if i else []) + [str(p)]
    subprocess.run(["sox", *parts, str(dst)], check=True, capture_output=True)
    return dst


_NUMBERS = {
    "0": "zero",
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
    "10": "ten",
}


def normalise_for_wer(text: str) -> str:
    """Lower case, no punctuation, single digits spelled out: what WER should be scored on."""
    text = text.lower()
    text = re.sub(r"[^\w\s]", " ", text)
    words = [_NUMBERS.get(w, w) for w in text.split()]
    return " ".join(words)


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(normalise_for_wer(reference), normalise_for_wer(hypothesis)))
