"""The hallucination filter on planted segment lists (the real-model path is in test_whisper.py)."""

from __future__ import annotations

from maied.asr.hallucination import Candidate, collapse_inner_loops, filter_hallucinations, is_stock_phrase
from maied.domain import Segment, Word


def seg(start: float, text: str) -> Candidate:
    return Candidate(Segment(start, start + 2.0, text, avg_logprob=-0.3))


def test_planted_loop_of_repeated_segments_keeps_one() -> None:
    planted = [seg(0, "Chúng ta bắt đầu cuộc họp."), seg(2, "Doanh thu quý này tăng.")]
    planted += [seg(4 + 2 * i, "Cảm ơn các bạn đã lắng nghe.") for i in range(6)]
    planted += [seg(20, "Tiếp theo là kế hoạch năm sau.")]
    report = filter_hallucinations(planted)
    texts = [s.text for s in report.segments]
    assert texts == [
        "Chúng ta bắt đầu cuộc họp.",
        "Doanh thu quý này tăng.",
        "Cảm ơn các bạn đã lắng nghe.",
        "Tiếp theo là kế hoạch năm sau.",
    ]
    assert report.dropped_repeats == 5
    assert report.metrics()["hallucination_dropped_segments"] == 5


def test_two_equal_segments_are_real_speech_and_kept() -> None:
    report = filter_hallucinations([seg(0, "Yes."), seg(2, "yes"), seg(4, "Let us go on.")])
    assert [s.text for s in report.segments] == ["Yes.", "yes", "Let us go on."]
    assert report.dropped == 0


def test_loop_inside_one_segment_is_collapsed_with_its_words() -> None:
    text = "the plan is " + "very good " * 6 + "for us"
    words = [Word(float(i), i + 0.5, " " + w, 0.9) for i, w in enumerate(text.split())]
    report = filter_hallucinations([Candidate(Segment(0, 20, text, words=words))])
    (only,) = report.segments
    assert only.text == "the plan is very good for us"
    assert only.words is not None and [w.word.strip() for w in only.words] == only.text.split()
    assert report.collapsed_loops == 1


def test_short_repetition_inside_a_segment_is_left_alone() -> None:
    text = "no no no, we said three times"
    assert collapse_inner_loops(text) == (text, 0)


def test_stock_phrases_are_dropped() -> None:
    report = filter_hallucinations(
        [
            seg(0, "Real words about the budget."),
            seg(2, "Hãy subscribe cho kênh Ghiền Mì Gõ để không bỏ lỡ những video hấp dẫn"),
            seg(4, "Subtitles by the Amara.org community"),
            seg(6, "Thanks for watching!"),
        ]
    )
    assert [s.text for s in report.segments] == ["Real words about the budget."]
    assert report.dropped_phrases == 3


def test_courtesy_is_dropped_only_where_the_model_heard_no_speech() -> None:
    assert is_stock_phrase("Thank you.", no_speech_prob=0.8)
    assert not is_stock_phrase("Thank you.", no_speech_prob=0.1)
    assert not is_stock_phrase("Thank you for the report on sales.", no_speech_prob=0.9)
