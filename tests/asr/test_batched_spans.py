"""The span bookkeeping of batched decoding: joining speech, packing chunks, mapping times back, tails."""

from __future__ import annotations

import numpy as np

from maied.asr.batched import Decoded, Joined, _collect, _to_recording, pack
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
    seg = _to_recording(Segment(3.0, 4.6, "end next", words=words), joined)
    assert [(w.start, w.end) for w in seg.words or []] == [(4.0, 4.9), (7.1, 7.6)]
    assert (seg.start, seg.end) == (4.0, 7.6)


def test_a_chunk_that_stops_early_leaves_its_tail_to_decode_again() -> None:
    """The chunk [17, 37.5) was decoded to 30.0: its last 7.5 s (recording 35.5-40, 41-44) come back as tails;
    the first chunk, decoded to within the VAD's padding of its end, leaves none."""
    joined = Joined.of(SPEECH)
    chunks = pack(joined, 30.0)
    decoded = Decoded([], "en", 1.0)
    found = [Candidate(Segment(0.0, 16.5, "a")), Candidate(Segment(17.0, 30.0, "b"))]
    tails = _collect(decoded, joined, chunks, found)
    assert tails == [Span(35.5, 40.0), Span(41.0, 44.0)]
    assert [(c.segment.start, c.segment.end) for c in decoded.candidates] == [(1.0, 19.5), (22.5, 35.5)]


def test_the_padding_after_the_last_decoded_word_is_not_decoded_again() -> None:
    joined = Joined.of(SPEECH)
    chunks = pack(joined, 30.0)
    found = [Candidate(Segment(0.0, 16.5, "a")), Candidate(Segment(17.0, 33.9, "b"))]
    assert _collect(Decoded([], "en", 1.0), joined, chunks, found) == [Span(41.0, 44.0)]  # not 39.4-40


def test_segment_detail_seek_is_a_frame_of_the_recording() -> None:
    seg = Segment(17.0, 20.0, "b", detail={"seek": 1700, "tokens": [1]})
    assert (_to_recording(seg, Joined.of(SPEECH)).detail or {})["seek"] == 2250  # 22.5 s
