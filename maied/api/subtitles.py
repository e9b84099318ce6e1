"""Transcript formats: plain text, SRT and WebVTT with cues of readable length, JSON.

Diarized transcripts (segments with `speaker`): TXT and SRT put `SPEAKER_n: ` before each turn (the first
cue of a run of one speaker's cues), VTT marks every cue with a voice tag `<v SPEAKER_n>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maied.domain import speaker_turns_text

MAX_LINE_CHARS = 42
MAX_CUE_LINES = 2
MAX_CUE_SECONDS = 7.0


@dataclass
class Cue:
    start: float
    end: float
    text: str
    speaker: str | None = None


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
        speaker = segment.get("speaker")
        for word in _words_of(segment):
            text = _joined([*current, word])
            if current and (len(text) > limit or word[1] - current[0][0] > MAX_CUE_SECONDS):
                cues.append(_cue(current, speaker))
                current = []
            current.append(word)
        if current:
            cues.append(_cue(current, speaker))
    return cues


def _cue(words: list[Timed], speaker: str | None = None) -> Cue:
    return Cue(words[0][0], max(words[-1][1], words[0][0] + 0.01), wrap(_joined(words)), speaker)


def _turn_prefixed(cues: list[Cue]) -> list[str]:
    """Cue texts, `SPEAKER_n: ` before the first cue of each speaker's turn."""
    texts: list[str] = []
    previous: str | None = None
    for cue in cues:
        texts.append(f"{cue.speaker}: {cue.text}" if cue.speaker and cue.speaker != previous else cue.text)
        previous = cue.speaker
    return texts


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
    cues = build_cues(segments)
    blocks = [f"{i}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{text}\n"
              for i, (c, text) in enumerate(zip(cues, _turn_prefixed(cues), strict=True), start=1)]
    return "\n".join(blocks)


def _voice(cue: Cue) -> str:
    return f"<v {cue.speaker}>{cue.text}" if cue.speaker else cue.text


def to_vtt(segments: list[dict[str, Any]]) -> str:
    blocks = [f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{_voice(c)}\n" for c in build_cues(segments)]
    return "WEBVTT\n\n" + "\n".join(blocks)


def to_text(results: dict[str, Any]) -> str:
    """The clean transcript, else the raw one; a diarized raw transcript as `SPEAKER_n: …` turns, one a line
    (a clean transcript of a diarized task was written from those turns and keeps their labels)."""
    text = results.get("clean_transcript") or ""
    if not text:
        text = speaker_turns_text(results.get("segments") or []) or results.get("raw_transcript") or ""
    return text.rstrip() + "\n"
