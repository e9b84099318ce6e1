"""recut_segments: subtitle-sized lines cut at word times, no word or time changed."""

from __future__ import annotations

from maied.asr.recut import CutRules, recut_segments
from maied.domain import Segment, Word


def words_at(*spec: tuple[str, float, float]) -> list[Word]:
    return [Word(start, end, f" {text}", 0.9) for text, start, end in spec]


def segment(words: list[Word], **extra: object) -> Segment:
    return Segment(words[0].start, words[-1].end, "".join(w.word for w in words).strip(), words,
                   avg_logprob=-0.2, **extra)  # type: ignore[arg-type]


def steady(n: int, step: float = 0.4, gap: float = 0.1, start: float = 0.0) -> list[Word]:
    return words_at(*[(f"w{i}", start + i * step, start + i * step + step - gap) for i in range(n)])


def all_words(segments: list[Segment]) -> list[Word]:
    return [w for s in segments for w in s.words or []]


def test_a_short_segment_is_kept_as_it_is() -> None:
    seg = segment(words_at(("Good", 0.0, 0.3), ("morning.", 0.35, 0.8)))
    assert recut_segments([seg]) == [seg]


def test_cut_after_a_sentence_end_and_at_a_pause() -> None:
    words = words_at(("Hello", 0.0, 0.4), ("there.", 0.45, 0.9), ("How", 1.0, 1.2), ("are", 1.25, 1.4),
                     ("you", 1.45, 1.7), ("today", 2.6, 3.0), ("friend", 3.05, 3.4))
    out = recut_segments([segment(words)])
    assert [s.text for s in out] == ["Hello there.", "How are you", "today friend"]
    assert [(s.start, s.end) for s in out] == [(0.0, 0.9), (1.0, 1.7), (2.6, 3.4)]
    assert all_words(out) == words


def test_long_run_on_speech_is_cut_within_the_limits() -> None:
    words = steady(60)  # 24 s of speech, no pause, no punctuation
    out = recut_segments([segment(words)])
    assert all(s.end - s.start <= 7.0 and len(s.text) <= 84 for s in out)
    assert all_words(out) == words
    assert " ".join(s.text for s in out) == segment(words).text
    assert all(s.avg_logprob == -0.2 for s in out)


def test_character_limit_cuts_fast_speech() -> None:
    words = words_at(*[(f"extraordinarily{i}", i * 0.2, i * 0.2 + 0.18) for i in range(20)])
    out = recut_segments([segment(words)], CutRules(max_seconds=30, max_chars=84))
    assert len(out) > 1 and all(len(s.text) <= 84 for s in out)
    assert all_words(out) == words


def test_an_overlong_piece_prefers_the_pause_after_a_comma() -> None:
    first = steady(10)
    first[4] = Word(first[4].start, first[4].end, " w4,", 0.9)
    second = steady(10, start=first[-1].end + 0.4)
    out = recut_segments([segment(first + second)], CutRules(max_seconds=7.0, pause_seconds=1.0))
    assert out[0].words == first[:5] or out[0].words == first  # the comma or the 0.4 s gap, never mid-run
    assert all(s.end - s.start <= 7.0 for s in out)


def test_segments_without_words_pass_through() -> None:
    seg = Segment(0.0, 25.0, "a long line without word times", None)
    assert recut_segments([seg]) == [seg]


def test_decoder_detail_stays_with_the_first_line() -> None:
    words = words_at(("One.", 0.0, 0.5), ("Two.", 0.6, 1.0))
    detail = {"seek": 0, "tokens": [1, 2, 3], "temperature": 0.0}
    out = recut_segments([segment(words, detail=detail)])
    assert [s.detail["tokens"] for s in out if s.detail] == [[1, 2, 3], []]
    assert out[1].detail is not None and out[1].detail["seek"] == 0


def test_empty_word_text_is_dropped_but_nothing_else() -> None:
    words = [*words_at(("Yes.", 0.0, 0.3)), Word(0.3, 0.3, " ", 0.1), *words_at(("No.", 0.5, 0.8))]
    out = recut_segments([segment(words)])
    assert [s.text for s in out] == ["Yes.", "No."]
