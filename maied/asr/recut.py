"""Re-cut decoded segments at their word timestamps into subtitle-sized lines.

Whisper's batched decoding returns one segment per VAD chunk (up to 30 s, speech across pauses merged);
sequential decoding sometimes gives long run-on segments too. Both carry word times, so segments are cut
again here, never changing a word or its time:
- always after a sentence end (`.`, `?`, `!`, `…`, `。`) and at a pause of at least `pause_seconds`;
- a piece still longer than `max_seconds` or `max_chars` is split at its best inner point: the largest
  pause, preferring one after a comma, among the points that leave both sides non-empty.
A segment without words is kept as it is. A piece's times are its first word's start and last word's end.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from maied.domain import Segment, Word

SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")
CLAUSE_END = (",", ";", ":", "，", "、")


@dataclass(frozen=True)
class CutRules:
    max_seconds: float = 7.0
    """A line's longest span (a subtitle is read in at most about 7 s)."""
    max_chars: int = 84
    """A line's most characters (two subtitle rows of 42)."""
    pause_seconds: float = 0.5
    """A silence between two words at least this long always ends a line."""


def recut_segments(segments: list[Segment], rules: CutRules = CutRules()) -> list[Segment]:
    """Every segment cut into lines within `rules`; words, their order and times unchanged."""
    out: list[Segment] = []
    for segment in segments:
        words = [w for w in segment.words or [] if w.word.strip()]
        if not words:
            out.append(segment)
            continue
        groups = [p for piece in _natural_pieces(words, rules.pause_seconds) for p in _bounded(piece, rules)]
        if len(groups) == 1 and len(words) == len(segment.words or []):
            out.append(segment)
            continue
        out.extend(_piece(segment, g, first=i == 0) for i, g in enumerate(groups))
    return out


def _natural_pieces(words: list[Word], pause: float) -> list[list[Word]]:
    """Cut after sentence ends and at pauses of at least `pause` seconds."""
    pieces: list[list[Word]] = [[words[0]]]
    for before, word in zip(words, words[1:], strict=False):
        if before.word.strip().endswith(SENTENCE_END) or word.start - before.end >= pause:
            pieces.append([word])
        else:
            pieces[-1].append(word)
    return pieces


def _bounded(words: list[Word], rules: CutRules) -> list[list[Word]]:
    """Split `words` in two at the best point until every part is within the limits."""
    if len(words) < 2 or _fits(words, rules):
        return [words]
    cut = _best_cut(words)
    return _bounded(words[:cut], rules) + _bounded(words[cut:], rules)


def _fits(words: list[Word], rules: CutRules) -> bool:
    return words[-1].end - words[0].start <= rules.max_seconds and len(_text(words)) <= rules.max_chars


def _best_cut(words: list[Word]) -> int:
    """Index of the first word of the second part: the largest pause (a comma before it counts 0.3 s more),
    ties broken towards the middle so both halves shrink."""
    middle = len(words) / 2

    def score(i: int) -> tuple[float, float]:
        gap = max(0.0, words[i].start - words[i - 1].end)
        comma = 0.3 if words[i - 1].word.strip().endswith(CLAUSE_END) else 0.0
        return (round(gap + comma, 2), -abs(i - middle))

    return max(range(1, len(words)), key=score)


def _text(words: list[Word]) -> str:
    return "".join(w.word for w in words).strip()


def _piece(parent: Segment, words: list[Word], first: bool) -> Segment:
    detail = None
    if parent.detail is not None:  # the decoder's tokens belong to the whole segment: kept on its first line
        detail = dict(parent.detail) if first else {**parent.detail, "tokens": []}
    return dataclasses.replace(parent, start=words[0].start, end=words[-1].end, text=_text(words),
                               words=list(words), detail=detail)
