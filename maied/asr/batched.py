"""Batched Whisper decoding that loses no speech at the end of a chunk.

faster-whisper's `BatchedInferencePipeline` joins the speech the VAD found (silences left out) into chunks of
up to 30 s and decodes each chunk once. With timestamp tokens, Whisper often stops at the last sentence it
heard whole and leaves the rest of its window to the next one: the sequential path seeks there, the pipeline
does not, and that speech is lost (a third of the chunks of the 10-minute benchmark clip lost a sentence).
Here the speech after each chunk's last timestamp is decoded again: a batch's tails are packed in front of
the speech still to come, so they mostly ride in the next batch's chunks. Times are mapped back to the
recording through the spans that were joined.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from maied.asr.hallucination import Candidate
from maied.domain import SAMPLE_RATE, Segment, Span

CHUNK_SECONDS = 30.0
"""Whisper's window: the longest chunk decoded at once."""
TAIL_SECONDS = 1.0
"""A piece of a chunk's undecoded end (one span's part) at least this long is decoded again; shorter pieces
are the VAD's padding around speech that was decoded (400 ms a side)."""
MAX_ROUNDS = 2
"""Calls at most for the tails left after the last chunk (a tail's tail is rare)."""


@dataclass(frozen=True)
class Joined:
    """Spans of the recording played end to end (what lies between them left out), and the way back."""

    spans: tuple[Span, ...]
    starts: tuple[float, ...]
    """Where each span starts in the joined audio."""

    @classmethod
    def of(cls, spans: list[Span]) -> Joined:
        starts, at = [], 0
        for span in spans:  # counted in samples, as audio() cuts them, so that no chunk ends past the audio
            starts.append(at / SAMPLE_RATE)
            at += _sample(span.end) - _sample(span.start)
        return cls(tuple(spans), tuple(starts))

    @property
    def seconds(self) -> float:
        if not self.spans:
            return 0.0
        last = self.spans[-1]
        return self.starts[-1] + (_sample(last.end) - _sample(last.start)) / SAMPLE_RATE

    def audio(self, audio: np.ndarray) -> np.ndarray:
        pieces = [audio[_sample(s.start):_sample(s.end)] for s in self.spans]
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)

    def index(self, t: float) -> int:
        """The span that joined time `t` falls in."""
        return max(0, bisect.bisect_right(self.starts, t) - 1)

    def original(self, t: float, index: int | None = None) -> float:
        """Joined time `t` as a time of the recording (in span `index`, else the one `t` falls in)."""
        i = self.index(t) if index is None else index
        return self.spans[i].start + (t - self.starts[i])

    def spans_between(self, a: float, b: float) -> list[Span]:
        """The recording's pieces that joined times [a, b) cover."""
        out = []
        for i in range(self.index(a), self.index(max(a, b - 1e-6)) + 1):
            lo, hi = max(a, self.starts[i]), min(b, self.starts[i] + self.spans[i].seconds)
            if hi > lo:
                out.append(Span(self.original(lo, i), self.original(hi, i)))
        return out


def pack(joined: Joined, limit: float = CHUNK_SECONDS) -> list[Span]:
    """Chunks of the joined audio (joined times) of at most `limit` s, cut between spans; a longer span is cut
    every `limit` s."""
    chunks: list[Span] = []
    start = end = 0.0
    for at, span in zip(joined.starts, joined.spans, strict=True):
        if at + span.seconds - start > limit and end > start:
            chunks.append(Span(start, end))
            start = at
        end = at + span.seconds
        while end - start > limit:
            chunks.append(Span(start, start + limit))
            start += limit
    if end > start:
        chunks.append(Span(start, end))
    return chunks


@dataclass
class Decoded:
    candidates: list[Candidate]
    language: str
    language_probability: float
    batches: int = 0
    """Batched calls made."""
    tail_seconds: float = 0.0
    """Seconds of speech decoded again after a chunk stopped early."""


def transcribe_batched(pipeline: Any, audio: np.ndarray, speech: list[Span], kwargs: dict[str, Any],
                       convert: Callable[[Any], Candidate], batch_size: int) -> Decoded:
    """Decode `speech` (spans of `audio`) with `pipeline`, `batch_size` chunks a call. The tails a batch left
    undecoded go in front of the speech still to come, so that they are packed into the next batch's chunks;
    only the last batch's tails cost calls of their own (up to MAX_ROUNDS)."""
    decoded = Decoded([], kwargs.get("language") or "", 1.0)
    pending, seconds, after_end = speech, audio.shape[0] / SAMPLE_RATE, 0
    for _ in range(len(pack(Joined.of(speech))) + MAX_ROUNDS):  # each call decodes a chunk at least
        pending = [Span(max(0.0, s.start), min(s.end, seconds)) for s in pending]
        pending = [s for s in pending if _sample(s.end) > _sample(s.start)]
        if not pending or after_end >= MAX_ROUNDS:
            break
        joined = Joined.of(pending)
        batch = pack(joined)[:max(1, batch_size)]
        head = Joined.of(joined.spans_between(0.0, batch[-1].end))  # the same times, only what is decoded now
        tails = _decode_batch(pipeline, audio, head, batch, kwargs, convert, decoded)
        rest = joined.spans_between(batch[-1].end, joined.seconds)
        after_end += 0 if rest else 1
        decoded.tail_seconds += sum(t.seconds for t in tails)
        pending = tails + rest
    decoded.candidates.sort(key=lambda c: c.segment.start)
    return decoded


def _decode_batch(pipeline: Any, audio: np.ndarray, head: Joined, batch: list[Span], kwargs: dict[str, Any],
                  convert: Callable[[Any], Candidate], decoded: Decoded) -> list[Span]:
    """One batched call on `batch` (chunks of `head`); its segments kept, its tails returned."""
    samples = head.audio(audio)
    end = samples.shape[0] / SAMPLE_RATE  # no chunk may end past the audio (faster-whisper asserts it)
    segments, info = pipeline.transcribe(samples, **{**kwargs, "language": decoded.language or None},
                                         batch_size=len(batch), vad_filter=False,
                                         clip_timestamps=[{"start": c.start, "end": min(c.end, end)} for c in batch])
    if decoded.batches == 0:
        decoded.language, decoded.language_probability = info.language, float(info.language_probability)
    decoded.batches += 1
    return _collect(decoded, head, batch, [convert(s) for s in segments])


def _collect(decoded: Decoded, joined: Joined, chunks: list[Span],
             candidates: list[Candidate]) -> list[Span]:
    """Keep `candidates` (mapped back to the recording); return the tails, as spans of the recording."""
    last: dict[int, float] = {}
    starts = [c.start for c in chunks]
    for candidate in candidates:
        segment = candidate.segment
        chunk = max(0, bisect.bisect_right(starts, (segment.start + segment.end) / 2) - 1)
        last[chunk] = max(last.get(chunk, 0.0), segment.end)
        decoded.candidates.append(dataclasses.replace(candidate, segment=_to_recording(segment, joined)))
    tails: list[Span] = []
    for chunk, decoded_to in sorted(last.items()):
        tails += [p for p in joined.spans_between(decoded_to, chunks[chunk].end) if p.seconds >= TAIL_SECONDS]
    return tails


def _to_recording(segment: Segment, joined: Joined) -> Segment:
    """A segment's times (joined) as times of the recording; a word keeps to the span its middle is in."""
    detail = segment.detail
    if detail is not None and "seek" in detail:  # the chunk's start, in frames of 10 ms
        detail = {**detail, "seek": int(round(joined.original(detail["seek"] / 100) * 100))}
    if not segment.words:
        start, end = joined.original(segment.start), joined.original(segment.end - 1e-3) + 1e-3
        return dataclasses.replace(segment, start=round(start, 3), end=round(end, 3), detail=detail)
    words = []
    for w in segment.words:
        i = joined.index((w.start + w.end) / 2)
        words.append(dataclasses.replace(w, start=round(joined.original(w.start, i), 3),
                                         end=round(joined.original(w.end, i), 3)))
    return dataclasses.replace(segment, start=words[0].start, end=words[-1].end, words=words, detail=detail)


def _sample(seconds: float) -> int:
    return int(round(seconds * SAMPLE_RATE))
