"""Drop what Whisper invents on long or quiet audio: looping repeats and its well-known stock phrases.

Three rules, each counted:
- a run of 3 or more consecutive segments with the same words keeps only its first segment;
- inside one segment, a phrase of 1-8 words repeated back to back 4 or more times is kept once;
- a segment that is only a stock phrase from subtitle credits ("thanks for watching", "hãy subscribe cho
  kênh ...") is dropped; short courtesies ("thank you", "cảm ơn") only where the model itself judged the
  audio not to be speech (no_speech_prob >= 0.5).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

from maied.domain import Segment

MIN_REPEAT_RUN = 3
MIN_INNER_REPEATS = 4
MAX_LOOP_WORDS = 8
WEAK_NO_SPEECH_PROB = 0.5

# Only ever seen as hallucinations: dropped when the segment contains them.
MARKERS = (
    "amara org",
    "ghiền mì gõ",
    "subscribe cho kênh",
    "đăng ký kênh",
    "like and subscribe",
    "please subscribe",
    "subtitles by",
    "sous titres réalisés",
)
# Dropped when they are the whole segment.
STOCK_PHRASES = frozenset(
    {
        "thanks for watching",
        "thank you for watching",
        "thank you so much for watching",
        "see you in the next video",
        "cảm ơn các bạn đã theo dõi",
        "cảm ơn các bạn đã xem video",
        "hẹn gặp lại các bạn trong những video tiếp theo",
        "xin chào và hẹn gặp lại",
    }
)
# Dropped when they are the whole segment and the model thought there was no speech.
WEAK_PHRASES = frozenset({"thank you", "thanks", "bye", "you", "cảm ơn", "cảm ơn các bạn", "xin cảm ơn"})


@dataclass
class Candidate:
    """A decoded segment with the model's own evidence about it."""

    segment: Segment
    no_speech_prob: float = 0.0


@dataclass
class FilterReport:
    segments: list[Segment] = field(default_factory=list)
    dropped_repeats: int = 0
    dropped_phrases: int = 0
    collapsed_loops: int = 0

    @property
    def dropped(self) -> int:
        return self.dropped_repeats + self.dropped_phrases

    def metrics(self) -> dict[str, Any]:
        return {
            "hallucination_dropped_segments": self.dropped,
            "hallucination_dropped_repeats": self.dropped_repeats,
            "hallucination_dropped_phrases": self.dropped_phrases,
            "hallucination_collapsed_loops": self.collapsed_loops,
        }


def normalise(text: str) -> str:
    """Lower case, punctuation removed, spaces collapsed (NFC so Vietnamese diacritics compare equal)."""
    text = unicodedata.normalize("NFC", text).lower()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def filter_hallucinations(candidates: list[Candidate]) -> FilterReport:
    report = FilterReport()
    kept: list[Candidate] = []
    for cand in candidates:
        segment, loops = _collapse_segment(cand.segment)
        report.collapsed_loops += loops
        if not normalise(segment.text):
            continue
        if is_stock_phrase(segment.text, cand.no_speech_prob):
            report.dropped_phrases += 1
            continue
        kept.append(Candidate(segment, cand.no_speech_prob))
    report.segments, report.dropped_repeats = _drop_repeat_runs([c.segment for c in kept])
    return report


def is_stock_phrase(text: str, no_speech_prob: float = 0.0) -> bool:
    norm = normalise(text)
    if any(marker in norm for marker in MARKERS) or norm in STOCK_PHRASES:
        return True
    return norm in WEAK_PHRASES and no_speech_prob >= WEAK_NO_SPEECH_PROB


def collapse_inner_loops(text: str) -> tuple[str, int]:
    """`text` with every phrase repeated back to back MIN_INNER_REPEATS+ times kept once; and how many."""
    words = text.split()
    keep, collapsed = _loop_free_indices([normalise(w) for w in words])
    return (" ".join(words[i] for i in keep) if collapsed else text), collapsed


def _collapse_segment(segment: Segment) -> tuple[Segment, int]:
    text, collapsed = collapse_inner_loops(segment.text)
    if not collapsed:
        return segment, 0
    words = segment.words
    if words:
        keep, _ = _loop_free_indices([normalise(w.word) for w in words])
        words = [words[i] for i in keep]
    return replace(segment, text=text, words=words), collapsed


def _loop_free_indices(keys: list[str]) -> tuple[list[int], int]:
    """Indices of `keys` left when each back-to-back repeated phrase is kept once; and how many loops."""
    keep: list[int] = []
    collapsed = i = 0
    while i < len(keys):
        size, times = _longest_loop_at(keys, i)
        if times >= MIN_INNER_REPEATS:
            keep.extend(range(i, i + size))
            i += size * times
            collapsed += 1
        else:
            keep.append(i)
            i += 1
    return keep, collapsed


def _longest_loop_at(keys: list[str], start: int) -> tuple[int, int]:
    """(phrase length, repetitions) of the phrase at `start` repeated most back to back."""
    best = (1, 1)
    for size in range(1, MAX_LOOP_WORDS + 1):
        phrase = keys[start : start + size]
        if len(phrase) < size:
            break
        times = 1
        while keys[start + times * size : start + (times + 1) * size] == phrase:
            times += 1
        if times >= MIN_INNER_REPEATS and times * size > best[0] * best[1]:
            best = (size, times)
    return best


def _drop_repeat_runs(segments: list[Segment]) -> tuple[list[Segment], int]:
    kept: list[Segment] = []
    dropped = i = 0
    while i < len(segments):
        key = normalise(segments[i].text)
        j = i + 1
        while j < len(segments) and normalise(segments[j].text) == key:
            j += 1
        run = segments[i:j]
        if len(run) >= MIN_REPEAT_RUN:
            kept.append(run[0])
            dropped += len(run) - 1
        else:
            kept.extend(run)
        i = j
    return kept, dropped
