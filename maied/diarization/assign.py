"""Speakers onto transcript segments and words (pure functions: no model, no I/O).

Each word gets the speaker whose turn overlaps it most (the nearest turn when none overlaps); a segment
whose words change speaker is split at that word boundary; a lone word whose neighbours on both sides
share a speaker takes theirs (turn edges are only accurate to a few tenths of a second). A segment without
word timestamps takes the speaker overlapping it most. Labels become SPEAKER_1, SPEAKER_2, … in order of
first appearance in the transcript.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from maied.diarization.base import SpeakerTurn
from maied.domain import Segment, Word

LABEL_PREFIX = "SPEAKER_"


def speaker_at(start: float, end: float, turns: Sequence[SpeakerTurn]) -> str | None:
    """The speaker of the turn overlapping [start, end] most; the nearest turn when none overlaps."""
    if not turns:
        return None
    best, best_overlap = None, 0.0
    for turn in turns:
        overlap = min(end, turn.end) - max(start, turn.start)
        if overlap > best_overlap:
            best, best_overlap = turn.speaker, overlap
    if best is not None:
        return best
    middle = (start + end) / 2
    nearest = min(turns, key=lambda t: max(t.start - middle, middle - t.end, 0.0))
    return nearest.speaker


def _word_speakers(words: Sequence[Word], turns: Sequence[SpeakerTurn]) -> list[str | None]:
    speakers = [speaker_at(w.start, w.end, turns) for w in words]
    for i in range(1, len(speakers) - 1):
        if speakers[i - 1] == speakers[i + 1] != speakers[i]:
            speakers[i] = speakers[i - 1]
    return speakers


def _split(segment: Segment, speakers: list[str | None]) -> list[Segment]:
    """One segment per run of words of one speaker (the first and last keep the segment's edges)."""
    words = segment.words or []
    runs: list[tuple[str | None, list[Word]]] = []
    for word, speaker in zip(words, speakers, strict=True):
        if runs and runs[-1][0] == speaker:
            runs[-1][1].append(word)
        else:
            runs.append((speaker, [word]))
    out: list[Segment] = []
    for i, (speaker, run) in enumerate(runs):
        start = segment.start if i == 0 else run[0].start
        end = segment.end if i == len(runs) - 1 else run[-1].end
        tagged = [dataclasses.replace(w, speaker=speaker) for w in run]
        text = segment.text if len(runs) == 1 else "".join(w.word for w in run).strip()
        out.append(dataclasses.replace(segment, start=start, end=end, text=text, words=tagged, speaker=speaker))
    return out


def _assign_one(segment: Segment, turns: Sequence[SpeakerTurn]) -> list[Segment]:
    if segment.words:
        return _split(segment, _word_speakers(segment.words, turns))
    return [dataclasses.replace(segment, speaker=speaker_at(segment.start, segment.end, turns))]


def label_order(segments: Sequence[Segment], turns: Sequence[SpeakerTurn]) -> dict[str, str]:
    """Backend label -> SPEAKER_n: by first appearance in the segments, then (speakers the transcript never
    gave a word to) by first turn."""
    order: list[str] = []
    for seen in [s.speaker for s in segments] + [t.speaker for t in sorted(turns, key=lambda t: t.start)]:
        if seen is not None and seen not in order:
            order.append(seen)
    return {raw: f"{LABEL_PREFIX}{i}" for i, raw in enumerate(order, start=1)}


def _relabel(segment: Segment, labels: dict[str, str]) -> Segment:
    words = None
    if segment.words is not None:
        words = [dataclasses.replace(w, speaker=labels.get(w.speaker or "")) for w in segment.words]
    return dataclasses.replace(segment, speaker=labels.get(segment.speaker or ""), words=words)


def assign_speakers(segments: Sequence[Segment], turns: Sequence[SpeakerTurn]) -> tuple[list[Segment], dict[str, str]]:
    """The segments with speakers (split at speaker changes) and the label map used (backend -> SPEAKER_n)."""
    assigned = [piece for segment in segments for piece in _assign_one(segment, turns)]
    labels = label_order(assigned, turns)
    return [_relabel(s, labels) for s in assigned], labels


def speaker_table(segments: Sequence[Segment], turns: Sequence[SpeakerTurn],
                  labels: dict[str, str]) -> list[dict[str, Any]]:
    """results.speakers: [{id, seconds (of that speaker's turns), segments (transcript segments)}]."""
    seconds: dict[str, float] = {}
    for turn in turns:
        label = labels[turn.speaker]
        seconds[label] = seconds.get(label, 0.0) + max(0.0, turn.end - turn.start)
    counts: dict[str, int] = {}
    for segment in segments:
        if segment.speaker is not None:
            counts[segment.speaker] = counts.get(segment.speaker, 0) + 1
    ordered = sorted(labels.values(), key=lambda label: int(label[len(LABEL_PREFIX):]))
    return [{"id": label, "seconds": round(seconds.get(label, 0.0), 3), "segments": counts.get(label, 0)}
            for label in ordered]
