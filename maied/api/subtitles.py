"""Transcript formats: plain text, SRT and WebVTT with cues of readable length, JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_LINE_CHARS = 42
MAX_CUE_LINES = 2
MAX_CUE_SECONDS = 7.0


@dataclass
class Cue:
    start: float
    end: float
    text: str


Timed = tuple[float, float, str]
"""A timed word: start, end, text. A text that begins with GLUE continues the word before it ("$12" ",000")."""
GLUE = "\x00"


def _words_of(segment: dict[str, Any]) -> list[Timed]:
    """Timed words: the recogniser's own, else the segment's words spread evenly over its span.
    Whisper starts each word with a space; a piece without one continues the previous word."""
    words = [w for w in segment.get("words") or [] if str(w["word"]).strip()]
    if words:
        spaced = any(str(w["word"])[:1].isspace() for w in words)
        return [(float(w["start"]), float(w["end"]),
                 (GLUE if spaced and i and not str(w["word"])[:1].isspace() else "") + str(w["word"]).strip())
                for i, w in enumerate(words)]
    tokens = str(segment.get("text", "")).split()
    start, end = float(segment["start"]), float(segment["end"])
    step = (end - start) / max(len(tokens), 1)
    return [(start + i * step, start + (i + 1) * step, t) for i, t in enumerate(tokens)]


def timed_words(segment: dict[str, Any]) -> list[Timed]:
    """(start, end, word) of a stored segment: its own word timestamps, else spread over its span."""
    return [(start, end, word.replace(GLUE, "")) for start, end, word in _words_of(segment)]


def _joined(words: list[Timed]) -> str:
    return " ".join(w[2] for w in words).replace(" " + GLUE, "").replace(GLUE, "")


def build_cues(segments: list[dict[str, Any]]) -> list[Cue]:
    """Split segments into cues of at most two lines of MAX_LINE_CHARS and MAX_CUE_SECONDS."""
    cues: list[Cue] = []
    limit = MAX_LINE_CHARS * MAX_CUE_LINES
    for segment in segments:
        current: list[Timed] = []
        for word in _words_of(segment):
            text = _joined([*current, word])
            if current and (len(text) > limit or word[1] - current[0][0] > MAX_CUE_SECONDS):
                cues.append(_cue(current))
                current = []
            current.append(word)
        if current:
            cues.append(_cue(current))
    return cues


def _cue(words: list[Timed]) -> Cue:
    return Cue(words[0][0], max(words[-1][1], words[0][0] + 0.01), wrap(_joined(words)))


def wrap(text: str) -> str:
    """Break into lines of at most MAX_LINE_CHARS at spaces (balanced for two lines)."""
    if len(text) <= MAX_LINE_CHARS:
        return text
    middle = len(text) // 2
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if not spaces:
        return text
    cut = min(spaces, key=lambda i: abs(i - middle))
    return text[:cut] + "\n" + text[cut + 1:]


def _stamp(seconds: float, sep: str) -> str:
    millis = int(round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def to_srt(segments: list[dict[str, Any]]) -> str:
    blocks = [f"{i}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{c.text}\n"
              for i, c in enumerate(build_cues(segments), start=1)]
    return "\n".join(blocks)


def to_vtt(segments: list[dict[str, Any]]) -> str:
    blocks = [f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{c.text}\n" for c in build_cues(segments)]
    return "WEBVTT\n\n" + "\n".join(blocks)


def to_text(results: dict[str, Any]) -> str:
    text = results.get("clean_transcript") or results.get("raw_transcript") or ""
    return text.rstrip() + "\n"
