"""Real two-voice conversations made with espeak-ng, with their known turns, and a frame-level
diarization error against those turns (best one-to-one mapping of labels, scipy's linear_sum_assignment).

Plain functions, so that the e2e tests can use them too.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.audio_fixtures import require_tools, write_wav

RATE = 16000
FRAME = 0.01
VOICES = {
    "low": ["-v", "en+m3", "-p", "30", "-s", "140"],   # a low, slow male voice
    "high": ["-v", "en+f4", "-p", "80", "-s", "175"],  # a high, quick female voice
}
LINES = [
    "Good morning everyone, thank you for joining the planning meeting today.",
    "Thanks. I have looked at the budget numbers and we are behind on the second quarter.",
    "Right, so what do you suggest we change before the next review?",
    "I think we should move two engineers onto the billing project and delay the mobile release.",
    "That sounds reasonable. Who will own the new schedule for the team?",
    "I will write the schedule and send it to everyone by Thursday evening.",
    "Good. Then we also need a decision on the office move in March.",
    "Let us keep the current office until the summer, the move would cost too much right now.",
]


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str


def _speak(text: str, voice: str, workdir: Path, rng: random.Random | None = None) -> np.ndarray:
    """espeak-ng speech at 16 kHz (sox resamples), trimmed to where the voice is audible. With `rng`, the
    voice's speed and pitch wander a little (+-8 %, +-5), as a person's do from one turn to the next."""
    raw, wav = workdir / "raw.wav", workdir / "16k.wav"
    args = list(VOICES[voice])
    if rng is not None:
        args[3] = str(int(args[3]) + rng.randint(-5, 5))
        args[5] = str(round(int(args[5]) * rng.uniform(0.92, 1.08)))
    subprocess.run(["espeak-ng", *args, "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(wav)], check=True, capture_output=True)
    import wave

    with wave.open(str(wav)) as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    return audio[loud[0]:loud[-1] + 1] if loud.size else audio


def conversation(path: Path, lines: Sequence[str] = LINES, gap: float = 0.5,
                 voices: Sequence[str] = ("low", "high"), rng: random.Random | None = None) -> list[Turn]:
    """Alternating turns (line i by voices[i % 2]) with `gap` s of silence between them, written to `path`
    (16 kHz mono 16-bit WAV); returns the turns (speech only, silences excluded). `rng`: see `_speak`."""
    require_tools("espeak-ng", "sox")
    pieces: list[np.ndarray] = []
    turns: list[Turn] = []
    t = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i, line in enumerate(lines):
            voice = voices[i % len(voices)]
            speech = _speak(line, voice, Path(tmp), rng)
            turns.append(Turn(t, t + len(speech) / RATE, voice))
            pieces += [speech, np.zeros(round(gap * RATE), dtype=np.float32)]
            t += len(speech) / RATE + gap
    write_wav(path, np.concatenate(pieces), RATE)
    return turns


def _frames(turns: Sequence[tuple[float, float, str]], count: int, names: dict[str, int]) -> np.ndarray:
    """Frame -> speaker index (-1: nobody); where turns overlap, the later one wins."""
    out = np.full(count, -1, dtype=int)
    for start, end, speaker in turns:
        index = names.setdefault(speaker, len(names))
        out[int(round(start / FRAME)):int(round(end / FRAME))] = index
    return out


def diarization_error(reference: Sequence[Turn], hypothesis: Sequence[tuple[float, float, str]]) -> float:
    """(missed + false alarm + confused speech frames) / reference speech frames, 10 ms frames, no collar,
    hypothesis labels mapped one-to-one onto reference speakers to make the error smallest."""
    from scipy.optimize import linear_sum_assignment

    end = max([t.end for t in reference] + [h[1] for h in hypothesis])
    count = int(np.ceil(end / FRAME)) + 1
    ref = _frames([(t.start, t.end, t.speaker) for t in reference], count, {})
    hyp = _frames(hypothesis, count, {})
    speech = ref >= 0
    if not speech.any():
        raise ValueError("the reference has no speech")
    both = speech & (hyp >= 0)
    matrix = np.zeros((ref.max() + 1, max(hyp.max() + 1, 1)), dtype=int)
    np.add.at(matrix, (ref[both], hyp[both]), 1)
    rows, cols = linear_sum_assignment(-matrix)
    correct = int(matrix[rows, cols].sum())
    missed = int((speech & (hyp < 0)).sum())
    false_alarm = int((~speech & (hyp >= 0)).sum())
    confused = int(both.sum()) - correct
    return (missed + false_alarm + confused) / int(speech.sum())
