"""Varied speech for the speed benchmarks: English and Vietnamese espeak-ng sentences with pauses of
different lengths, optionally with noise mixed in (sox), each with its reference text for WER.

Clips are cached under `$TMPDIR/maie-bench/audio`; `clip(name, seconds)` repeats the clip's sentences
(cycling through PAUSES after each) until `seconds` are filled.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench._common import CACHE, SENTENCES, wav_seconds
from tests.audio_fixtures import require_tools, speak_wav

PAUSES = (0.3, 1.5, 0.8, 3.0, 0.5, 2.0)
"""Seconds of silence after each sentence, in turn: short breaths, sentence gaps and long pauses."""
VI_SENTENCES = (
    "Hôm nay trời đẹp và chúng tôi họp về kế hoạch bán hàng.",
    "Công ty sẽ mở thêm một cửa hàng mới ở Hà Nội vào tháng sau.",
    "Xin vui lòng gửi báo cáo tài chính trước chiều thứ sáu.",
    "Khách hàng hỏi liệu có thể giao hàng vào tuần thứ hai không.",
    "Chúng ta cần kiểm tra lại ngân sách sau khi kỹ sư hoàn thành dự toán.",
    "Buổi đào tạo cho nhân viên bắt đầu lúc chín giờ sáng thứ hai.",
)
SHORT_SENTENCES = ("Good morning everyone.", "The meeting starts at nine.", "Please close the door.",
                   "Thank you very much.")
"""The issue's case: short sentences repeated with 1.5 s pauses (where the fallback ladder ran 6 decodes)."""


CLIP_NAMES = ("en", "vi", "en-noise", "vi-noise", "en-short")


@dataclass(frozen=True)
class Clip:
    path: Path
    reference: str
    language: str
    seconds: float


def clip(name: str, seconds: float) -> Clip:
    """`en`, `vi`, `en-noise`, `vi-noise` (varied pauses) or `en-short` (short sentences, 1.5 s pauses)."""
    base = name.removesuffix("-noise")
    language = "vi" if base == "vi" else "en"
    sentences = {"en": SENTENCES, "vi": VI_SENTENCES, "en-short": SHORT_SENTENCES}[base]
    pauses = (1.5,) if base == "en-short" else PAUSES
    folder = CACHE / "audio" / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}-{seconds:g}s.wav"
    parts, texts, total, i = [], [], 0.0, 0
    while total < seconds:
        j = i % len(sentences)
        part = _padded(folder, base, j, sentences[j], language, pauses[i % len(pauses)])
        parts.append(part)
        texts.append(sentences[j])
        total += wav_seconds(part)
        i += 1
    if not target.exists():
        _join(parts, target, noise=name.endswith("-noise"))
    return Clip(target, " ".join(texts), language, wav_seconds(target))


def _padded(folder: Path, base: str, j: int, text: str, language: str, pause: float) -> Path:
    out = folder / f"{base}-{j}-pad{pause:g}.wav"
    if not out.exists():
        require_tools("espeak-ng", "sox")
        raw = speak_wav(text, folder / f"{base}-{j}.raw.wav", voice=language, words_per_minute=150)
        subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out), "pad", "0",
                        f"{pause:g}"], check=True, capture_output=True)
    return out


def _join(parts: list[Path], target: Path, noise: bool) -> None:
    tmp = target.with_suffix(".tmp.wav")
    # sox concatenates at most a few thousand inputs; lists are built in batches of 500 files.
    batches = [parts[k:k + 500] for k in range(0, len(parts), 500)]
    pieces = []
    for n, batch in enumerate(batches):
        piece = target.with_suffix(f".part{n}.wav")
        subprocess.run(["sox", *map(str, batch), str(piece)], check=True, capture_output=True)
        pieces.append(piece)
    subprocess.run(["sox", *map(str, pieces), str(tmp)], check=True, capture_output=True)
    for piece in pieces:
        piece.unlink()
    if noise:  # pink noise about 20 dB under the speech: a room with a fan, not a storm
        noisy = target.with_suffix(".noise.wav")
        subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(noisy), "synth",
                        f"{wav_seconds(tmp):.3f}", "pinknoise", "vol", "0.03"], check=True, capture_output=True)
        mixed = target.with_suffix(".mix.wav")
        subprocess.run(["sox", "-m", str(tmp), str(noisy), str(mixed)], check=True, capture_output=True)
        noisy.unlink()
        mixed.rename(tmp)
    tmp.rename(target)
