"""The span bookkeeping of batched decoding: joining speech, packing chunks, mapping times back, tails."""

from __future__ import annotations

import numpy as np
import pytest

from maied.asr.batched import Decoded, Joined, _collect, _to_recording, pack, transcribe_batched
from maied.asr.hallucination import Candidate
from maied.domain import SAMPLE_RATE, Segment, Span, Word

SPEECH = [Span(1.0, 5.0), Span(7.0, 20.0), Span(22.5, 40.0), Span(41.0, 44.0)]


def test_joined_audio_leaves_the_gaps_out_and_maps_times_back() -> None:
    joined = Joined.of(SPEECH)
    assert joined.starts == (0.0, 4.0, 17.0, 34.5) and joined.seconds == 37.5
    audio = np.arange(int(50 * SAMPLE_RATE), dtype=np.float32)
    samples = joined.audio(audio)
    assert samples.shape[0] == int(37.5 * SAMPLE_RATE)
    assert samples[int(4.0 * SAMPLE_RATE)] == audio[int(7.0 * SAMPLE_RATE)]  # the second span follows the first
    assert joined.original(0.5) == 1.5 and joined.original(4.0) == 7.0 and joined.original(20.0) == 25.5


def test_the_joined_length_is_the_audio_it_cuts_to_the_sample() -> None:
    """Spans at odd times: the chunks never end past the joined audio (faster-whisper refuses that)."""
    spans = [Span(0.12345 + 3.3 * i, 1.98765 + 3.3 * i) for i in range(200)]
    joined = Joined.of(spans)
    samples = joined.audio(np.zeros(int(700 * SAMPLE_RATE), dtype=np.float32)).shape[0]
    assert round(joined.seconds * SAMPLE_RATE) == samples
    assert int(pack(joined)[-1].end * SAMPLE_RATE) <= samples


def test_a_time_on_a_join_maps_into_the_span_given() -> None:
    joined = Joined.of(SPEECH)
    assert joined.original(4.0, index=0) == 5.0  # the end of the first span, not the start of the second


def test_chunks_are_cut_between_spans_and_never_longer_than_the_window() -> None:
    chunks = pack(Joined.of(SPEECH), 30.0)
    assert chunks == [Span(0.0, 17.0), Span(17.0, 37.5)]
    long = pack(Joined.of([Span(0.0, 70.0)]), 30.0)
    assert long == [Span(0.0, 30.0), Span(30.0, 60.0), Span(60.0, 70.0)]


def test_spans_between_follow_the_recording_across_a_join() -> None:
    joined = Joined.of(SPEECH)
    assert joined.spans_between(2.0, 6.0) == [Span(3.0, 5.0), Span(7.0, 9.0)]
    assert joined.spans_between(30.0, 37.5) == [Span(35.5, 40.0), Span(41.0, 44.0)]


def test_words_keep_to_their_span_and_the_segment_takes_their_times() -> None:
    joined = Joined.of(SPEECH)
    words = [Word(3.0, 3.9, " end", 0.9), Word(4.1, 4.6, " next", 0.9)]
    seg = _to_recording(Segment(3.0, 4.6, "end next", words=words), joined, pack(joined, 30.0)[0])
    assert [(w.start, w.end) for w in seg.words or []] == [(4.0, 4.9), (7.1, 7.6)]
    assert (seg.start, seg.end) == (4.0, 7.6)


def test_a_chunk_that_stops_early_leaves_its_tail_to_decode_again() -> None:
    """The chunk [17, 37.5) was decoded to 30.0: its last 7.5 s (recording 35.5-40, 41-44) come back as tails;
    the first chunk, decoded to within the VAD's padding of its end, leaves none."""
    joined = Joined.of(SPEECH)
    chunks = pack(joined, 30.0)
    decoded = Decoded([], "en", 1.0)
    found = [(0, Candidate(Segment(0.0, 16.5, "a"))), (1, Candidate(Segment(17.0, 30.0, "b")))]
    tails = _collect(decoded, joined, chunks, found)
    assert tails == [Span(35.5, 40.0), Span(41.0, 44.0)]
    assert [(c.segment.start, c.segment.end) for c in decoded.candidates] == [(1.0, 19.5), (22.5, 35.5)]


def test_the_padding_after_the_last_decoded_word_is_not_decoded_again() -> None:
    joined = Joined.of(SPEECH)
    chunks = pack(joined, 30.0)
    found = [(0, Candidate(Segment(0.0, 16.5, "a"))), (1, Candidate(Segment(17.0, 33.9, "b")))]
    assert _collect(Decoded([], "en", 1.0), joined, chunks, found) == [Span(41.0, 44.0)]  # not 39.4-40


def test_a_chunk_that_did_not_move_on_leaves_no_tail() -> None:
    """Under TAIL_SECONDS decoded: decoding its rest again could go on for ever."""
    joined = Joined.of(SPEECH)
    found = [(1, Candidate(Segment(17.0, 17.5, "b")))]
    assert _collect(Decoded([], "en", 1.0), joined, pack(joined, 30.0), found) == []


def test_a_word_aligned_past_its_chunk_stays_in_it() -> None:
    """Alignment may put a chunk's last word up to 1 s past its end, in the next chunk's speech: it is held to
    its own chunk (and its span), and the chunk counts as decoded to its end."""
    joined = Joined.of(SPEECH)
    chunks = pack(joined, 30.0)
    words = [Word(15.0, 16.5, " last", 0.9), Word(16.6, 17.6, " word", 0.9)]
    decoded = Decoded([], "en", 1.0)
    assert _collect(decoded, joined, chunks, [(0, Candidate(Segment(15.0, 17.6, "last word", words=words)))]) == []
    assert [(w.start, w.end) for w in decoded.candidates[0].segment.words or []] == [(18.0, 19.5), (19.6, 20.0)]


def test_segment_detail_seek_is_a_frame_of_the_recording() -> None:
    seg = Segment(17.0, 20.0, "b", detail={"seek": 1699, "tokens": [1]})  # faster-whisper floors it
    joined = Joined.of(SPEECH)
    assert (_to_recording(seg, joined, pack(joined, 30.0)[1]).detail or {})["seek"] == 2250  # 22.5 s


class ChunkEcho:
    """Stands in for faster-whisper's pipeline in the loop's bookkeeping: each clip comes back as one segment
    that stops `stop` seconds before the clip's end (Whisper stopping early), or reaches it."""

    def __init__(self, stop: float) -> None:
        self.stop, self.calls = stop, 0

    def transcribe(self, audio: np.ndarray, **kwargs: object) -> tuple[list[object], object]:
        from types import SimpleNamespace

        self.calls += 1
        clips = kwargs["clip_timestamps"]
        assert isinstance(clips, list)
        out = [SimpleNamespace(seek=int(c["start"] * 100), start=c["start"],
                               end=max(c["start"] + 1.5, c["end"] - self.stop)) for c in clips]
        return out, SimpleNamespace(language="en", language_probability=0.9)


def _echo(seg: object) -> Candidate:
    return Candidate(Segment(seg.start, seg.end, "x"))  # type: ignore[attr-defined]


def test_the_loop_ends_and_reports_what_it_could_not_decode(caplog: pytest.LogCaptureFixture) -> None:
    """Every chunk stops 5 s early, whatever it holds: the tails after the last chunk get MAX_ROUNDS calls,
    then the loop ends with a warning, and asr_tail_seconds counts only what was decoded again."""
    speech = [Span(10.0 * i, 10.0 * i + 8.0) for i in range(30)]  # 240 s of speech in 300 s
    audio = np.zeros(int(300 * SAMPLE_RATE), dtype=np.float32)
    pipeline = ChunkEcho(stop=5.0)
    decoded = transcribe_batched(pipeline, audio, speech, {"language": "en"}, _echo, batch_size=8)
    starts = [c.segment.start for c in decoded.candidates]
    assert starts == sorted(starts) and decoded.batches == pipeline.calls
    assert "still undecoded" in caplog.text
    assert 0 < decoded.tail_seconds < 240


def test_speech_that_fits_one_batch_costs_one_call_when_no_chunk_stops_early() -> None:
    speech = [Span(10.0 * i, 10.0 * i + 8.0) for i in range(10)]
    audio = np.zeros(int(100 * SAMPLE_RATE), dtype=np.float32)
    decoded = transcribe_batched(ChunkEcho(stop=0.0), audio, speech, {"language": None}, _echo, batch_size=8)
    assert decoded.batches == 1 and decoded.tail_seconds == 0 and decoded.language == "en"
