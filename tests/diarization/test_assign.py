"""Speaker assignment to segments and words: pure functions on hand-made turns and segments."""

from __future__ import annotations

from maied.diarization.assign import assign_speakers, speaker_at, speaker_table
from maied.diarization.base import SpeakerTurn
from maied.domain import Segment, Word, speaker_turns, speaker_turns_text

TURNS = [SpeakerTurn(0.0, 4.0, "B"), SpeakerTurn(4.0, 9.0, "A"), SpeakerTurn(9.5, 12.0, "B")]


def words(*spec: tuple[float, float, str]) -> list[Word]:
    return [Word(s, e, w, 0.9) for s, e, w in spec]


def test_speaker_at_takes_the_largest_overlap_and_else_the_nearest_turn() -> None:
    assert speaker_at(3.5, 4.8, TURNS) == "A"
    assert speaker_at(3.0, 4.2, TURNS) == "B"
    assert speaker_at(9.3, 9.4, TURNS) == "B"  # in the gap, nearer the turn at 9.5
    assert speaker_at(9.1, 9.2, TURNS) == "A"
    assert speaker_at(15.0, 16.0, TURNS) == "B"
    assert speaker_at(1.0, 2.0, []) is None


def test_a_segment_spanning_a_speaker_change_is_split_at_the_word_boundary() -> None:
    segment = Segment(2.0, 6.0, " Hello there. Fine thanks.", words(
        (2.0, 2.5, " Hello"), (2.6, 3.8, " there."), (4.1, 4.9, " Fine"), (5.0, 6.0, " thanks.")))
    out, labels = assign_speakers([segment], TURNS)
    assert [(s.start, s.end, s.text, s.speaker) for s in out] == [
        (2.0, 3.8, "Hello there.", "SPEAKER_1"), (4.1, 6.0, "Fine thanks.", "SPEAKER_2")]
    assert [w.speaker for w in out[0].words or []] == ["SPEAKER_1", "SPEAKER_1"]
    assert [w.speaker for w in out[1].words or []] == ["SPEAKER_2", "SPEAKER_2"]
    assert labels == {"B": "SPEAKER_1", "A": "SPEAKER_2"}


def test_a_short_run_of_words_joins_its_longer_neighbouring_run() -> None:
    segment = Segment(5.0, 11.0, " one two three", words((5.0, 8.5, " one"), (8.9, 9.6, " two"), (10.0, 10.5, " three")))
    turns = [SpeakerTurn(0.0, 9.0, "A"), SpeakerTurn(9.0, 9.7, "B"), SpeakerTurn(9.7, 11.0, "A")]
    out, _ = assign_speakers([segment], turns)
    assert len(out) == 1 and out[0].text == " one two three" and out[0].speaker == "SPEAKER_1"
    # A late turn edge: the first word of B's segment still inside A's turn stays with B.
    late = Segment(4.0, 8.0, " Thanks. I looked at it.", words(
        (4.0, 4.4, " Thanks."), (4.6, 5.5, " I looked"), (5.6, 8.0, " at it.")))
    out, _ = assign_speakers([late], [SpeakerTurn(0.0, 4.5, "A"), SpeakerTurn(4.5, 9.0, "B")])
    assert [(s.text, s.speaker) for s in out] == [(" Thanks. I looked at it.", "SPEAKER_1")]
    assert {w.speaker for w in out[0].words or []} == {"SPEAKER_1"}


def test_segments_without_words_take_the_speaker_overlapping_most_and_labels_follow_first_appearance() -> None:
    segments = [Segment(4.2, 8.0, "second speaker first"), Segment(9.6, 11.0, "then the other")]
    out, labels = assign_speakers(segments, TURNS)
    assert [s.speaker for s in out] == ["SPEAKER_1", "SPEAKER_2"]
    assert labels == {"A": "SPEAKER_1", "B": "SPEAKER_2"}
    table = speaker_table(out, TURNS, labels)
    assert table == [{"id": "SPEAKER_1", "seconds": 5.0, "segments": 1},
                     {"id": "SPEAKER_2", "seconds": 6.5, "segments": 1}]


def test_a_speaker_with_turns_but_no_words_comes_after_those_the_transcript_shows() -> None:
    out, labels = assign_speakers([Segment(4.5, 8.0, "only A")], TURNS)
    assert labels == {"A": "SPEAKER_1", "B": "SPEAKER_2"}
    assert speaker_table(out, TURNS, labels)[1] == {"id": "SPEAKER_2", "seconds": 6.5, "segments": 0}


def test_no_turns_leaves_segments_without_speakers() -> None:
    out, labels = assign_speakers([Segment(0.0, 1.0, "x", words((0.0, 1.0, " x")))], [])
    assert out[0].speaker is None and labels == {}
    assert "speaker" not in out[0].to_dict() and "speaker" not in (out[0].to_dict()["words"][0])


def test_segment_round_trip_and_speaker_turns_text() -> None:
    out, _ = assign_speakers([Segment(0.5, 3.0, " Hi.", words((0.5, 1.0, " Hi."))),
                              Segment(3.0, 3.9, " Again.", words((3.0, 3.9, " Again."))),
                              Segment(4.5, 6.0, " Yes.", words((4.5, 6.0, " Yes.")))], TURNS)
    dicts = [s.to_dict() for s in out]
    assert [Segment.from_dict(d).to_dict() for d in dicts] == dicts
    assert speaker_turns(dicts) == [("SPEAKER_1", "Hi. Again."), ("SPEAKER_2", "Yes.")]
    assert speaker_turns_text(dicts) == "SPEAKER_1: Hi. Again.\nSPEAKER_2: Yes."
    assert speaker_turns_text([{"start": 0, "end": 1, "text": "plain"}]) == ""
