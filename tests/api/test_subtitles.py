"""SRT/VTT cues: Whisper's word pieces are joined as the recogniser wrote them."""

from __future__ import annotations

from maied.api.subtitles import build_cues, to_srt, to_vtt


def _segment(*words: str) -> dict[str, object]:
    timed = [{"start": i * 0.5, "end": i * 0.5 + 0.4, "word": w, "probability": 0.9} for i, w in enumerate(words)]
    return {"start": 0.0, "end": len(words) * 0.5, "text": "".join(words).strip(), "words": timed}


def test_a_word_piece_without_its_space_continues_the_word() -> None:
    segment = _segment(" It", " costs", " $12", ",000", " a", " year.")
    assert [c.text for c in build_cues([segment])] == ["It costs $12,000 a year."]
    assert "$12,000" in to_srt([segment]) and "$12,000" in to_vtt([segment])


def test_words_without_any_spaces_are_separate_words() -> None:
    segment = _segment("xin", "chào", "các", "bạn")
    assert [c.text for c in build_cues([segment])] == ["xin chào các bạn"]


def test_segments_without_words_are_spread_over_their_span() -> None:
    cues = build_cues([{"start": 1.0, "end": 3.0, "text": "hello there"}])
    assert [(c.start, c.text) for c in cues] == [(1.0, "hello there")]
