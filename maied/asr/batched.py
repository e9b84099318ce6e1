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
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from maied.asr.hallucination import Candidate
from maied.domain import SAMPLE_RATE, Segment, Span

log = logging.getLogger(__name__)

CHUNK_SECONDS = 30.0
"""Whisper's window: the longest chunk decoded at once."""
TAIL_SECONDS = 1.0
"""A piece of a chunk's undecoded end (one span's part) at least this long is decoded again; shorter pieces
are the VAD's padding around speech that was decoded (400 ms a side)."""
MAX_ROUNDS = 2
"""Calls at most for the tails left once the last chunk is decoded (a tail's tail is rare)."""


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
        out: list[Span] = []
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
    """What batched decoding gives back."""

    candidates: list[Candidate]
    language: str | None
    language_probability: float | None
    batches: int = 0
    """Batched calls made."""
    tail_seconds: float = 0.0
    """Seconds of speech decoded again after a chunk stopped early."""


def transcribe_batched(pipeline: Any, audio: np.ndarray, speech: list[Span], kwargs: dict[str, Any],
                       convert: Callable[[Any], Candidate], batch_size: int) -> Decoded:
    """Decode `speech` (spans of `audio`) with `pipeline`, `batch_size` chunks a call. The tails a batch left
    undecoded go in front of the speech still to come, so that they are packed into the next batch's chunks;
    the tails left after the last chunk get up to MAX_ROUNDS calls of their own. Every call moves on by at
    least TAIL_SECONDS per chunk (see _collect), so the loop ends."""
    language = kwargs.get("language") or None
    decoded = Decoded([], language, 1.0 if language else None)
    seconds = audio.shape[0] / SAMPLE_RATE
    pending, reached_end, rounds_after = _within(speech, seconds), False, 0
    while pending:
        if reached_end:
            if rounds_after == MAX_ROUNDS:
                _give_up(decoded, pending)
                break
            rounds_after += 1
        joined = Joined.of(pending)
        batch = pack(joined)[:max(1, batch_size)]
        head = Joined.of(joined.spans_between(0.0, batch[-1].end))  # the same times, only what is decoded now
        tails = _decode_batch(pipeline, audio, head, batch, kwargs, convert, decoded)
        rest = joined.spans_between(batch[-1].end, joined.seconds)
        reached_end = reached_end or not rest
        decoded.tail_seconds += sum(t.seconds for t in tails)
        pending = _within(tails + rest, seconds)
    decoded.candidates.sort(key=lambda c: c.segment.start)
    return decoded


def _within(spans: list[Span], seconds: float) -> list[Span]:
    """`spans` held to the audio's length, the empty ones left out."""
    held = [Span(max(0.0, s.start), min(s.end, seconds)) for s in spans]
    return [s for s in held if _sample(s.end) > _sample(s.start)]


def _give_up(decoded: Decoded, pending: list[Span]) -> None:
    left = sum(s.seconds for s in pending)
    decoded.tail_seconds -= left
    log.warning("batched Whisper: %.1f s of speech still undecoded after %d rounds of tails", left, MAX_ROUNDS)


def _decode_batch(pipeline: Any, audio: np.ndarray, head: Joined, batch: list[Span], kwargs: dict[str, Any],
                  convert: Callable[[Any], Candidate], decoded: Decoded) -> list[Span]:
    """One batched call on `batch` (chunks of `head`); its segments kept, its tails returned."""
    samples = head.audio(audio)
    end = samples.shape[0] / SAMPLE_RATE  # no chunk may end past the audio (faster-whisper asserts it)
    clips = [{"start": c.start, "end": min(c.end, end)} for c in batch]
    pipeline.last_speech_timestamp = 0.0  # the pipeline resets it only when a call runs to its end
    segments, info = pipeline.transcribe(samples, **{**kwargs, "language": decoded.language},
                                         batch_size=len(batch), vad_filter=False, clip_timestamps=clips)
    if decoded.batches == 0:
        decoded.language, decoded.language_probability = info.language, float(info.language_probability)
    decoded.batches += 1
    starts = [c.start for c in batch]
    # A segment's seek is its chunk's start in frames of 10 ms, floored (faster-whisper's batched forward).
    found = [(max(0, bisect.bisect_right(starts, s.seek / 100 + 0.015) - 1), convert(s)) for s in segments]
    return _collect(decoded, head, batch, found)


def _collect(decoded: Decoded, joined: Joined, chunks: list[Span],
             found: list[tuple[int, Candidate]]) -> list[Span]:
    """Keep the candidates found in each chunk (mapped back to the recording); return the tails, as spans of
    the recording: what follows a chunk's last decoded time, where the chunk moved on by TAIL_SECONDS."""
    last: dict[int, float] = {}
    for chunk, candidate in found:
        segment = candidate.segment
        last[chunk] = max(last.get(chunk, chunks[chunk].start), min(segment.end, chunks[chunk].end))
        recorded = _to_recording(segment, joined, chunks[chunk])
        decoded.candidates.append(dataclasses.replace(candidate, segment=recorded))
    tails: list[Span] = []
    for chunk, decoded_to in sorted(last.items()):
        if decoded_to - chunks[chunk].start >= TAIL_SECONDS:
            pieces = joined.spans_between(decoded_to, chunks[chunk].end)
            tails += [p for p in pieces if p.seconds >= TAIL_SECONDS]
    return tails


def _to_recording(segment: Segment, joined: Joined, chunk: Span) -> Segment:
    """A segment's times (joined, within `chunk`) as times of the recording; a word keeps to the span its
    middle is in."""
    detail = segment.detail
    if detail is not None and "seek" in detail:  # the chunk's start, in frames of 10 ms
        detail = {**detail, "seek": int(round(joined.original(chunk.start, joined.index(chunk.start)) * 100))}
    if not segment.words:  # its ends may lie in different spans
        start, _ = _mapped(joined, chunk, segment.start, segment.start)
        _, end = _mapped(joined, chunk, segment.end, segment.end)
        return dataclasses.replace(segment, start=start, end=max(start, end), detail=detail)
    words = []
    for w in segment.words:
        start, end = _mapped(joined, chunk, w.start, w.end)
        words.append(dataclasses.replace(w, start=start, end=end))
    return dataclasses.replace(segment, start=words[0].start, end=words[-1].end, words=words, detail=detail)


def _mapped(joined: Joined, chunk: Span, start: float, end: float) -> tuple[float, float]:
    """[start, end] (joined) held to `chunk`, as times of the recording in the span their middle is in."""
    start, end = min(max(start, chunk.start), chunk.end), min(max(end, chunk.start), chunk.end)
    i = joined.index(min((start + end) / 2, chunk.end - 1e-6))  # an end on a join belongs to the span before
    return round(joined.original(start, i), 3), round(joined.original(end, i), 3)


def _sample(seconds: float) -> int:
    return int(round(seconds * SAMPLE_RATE))
