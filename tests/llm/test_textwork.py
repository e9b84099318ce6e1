"""Chunking by token budget and the word-level edit rate the enhancement guard uses."""

from __future__ import annotations

from maied.llm.textwork import TokenCounter, chunk_words, edit_rate, normalize_word


def _chars(text: str) -> int:
    """A stand-in tokenizer for the arithmetic: one token per 4 characters."""
    return max(1, len(text) // 4)


def test_chunks_cover_every_word_once_in_order_within_budget() -> None:
    words = [f"word{i}" for i in range(500)]
    counter = TokenCounter(_chars)
    chunks = chunk_words(words, counter, max_tokens=40, overlap_words=5)
    assert len(chunks) > 5
    assert " ".join(c.text for c in chunks) == " ".join(words)
    assert [c.start for c in chunks[1:]] == [c.end for c in chunks[:-1]]
    assert all(counter.words(c.text.split()) <= 40 for c in chunks)
    assert chunks[0].context_before == ""
    assert chunks[1].context_before == " ".join(words[chunks[1].start - 5:chunks[1].start])


def test_chunks_prefer_to_end_at_a_sentence() -> None:
    words = ("one two three four five six seven eight nine ten. " * 10).split()
    chunks = chunk_words(words, TokenCounter(lambda s: 1), max_tokens=24)
    assert all(c.text.endswith(".") for c in chunks)


def test_a_word_longer_than_the_budget_still_makes_progress() -> None:
    chunks = chunk_words(["x" * 400, "b"], TokenCounter(_chars), max_tokens=10)
    assert [c.text for c in chunks] == ["x" * 400, "b"]


def test_edit_rate_ignores_punctuation_case_and_vietnamese_diacritics() -> None:
    raw = "xin chao cac ban hom nay chung ta ban ve ke hoach quy hai"
    clean = "Xin chào các bạn. Hôm nay, chúng ta bàn về kế hoạch quý hai."
    assert edit_rate(raw, clean) == (0.0, 0, 14)
    assert normalize_word("Đường,") == "duong"


def test_edit_rate_counts_rewording() -> None:
    raw = "the team met today to plan the release"
    rate, edits, n = edit_rate(raw, "Everyone gathered to discuss shipping.")
    assert n == 8 and edits >= 6 and rate > 0.7
    rate, edits, _ = edit_rate(raw, "The team met today to plan the new release.")
    assert edits == 1 and rate == 1 / 8
