"""Plain text helpers for the LLM stage: token-budgeted chunks and the word-level edit rate."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"[.!?…。]['\")\]]*$")
_PUNCT = re.compile(r"[^\w]+", re.UNICODE)


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    """First word (index into the transcript's words)."""
    end: int
    """One past the last word."""
    text: str
    context_before: str = ""
    """The words just before `start` (the overlap): context for the model, not part of the chunk."""


class TokenCounter:
    """Counts tokens word by word (each with its leading space), remembering words already seen."""

    def __init__(self, count: Callable[[str], int]):
        self._count = count
        self._cache: dict[str, int] = {}

    def word(self, word: str) -> int:
        n = self._cache.get(word)
        if n is None:
            n = self._cache[word] = max(1, self._count(" " + word))
        return n

    def words(self, words: list[str]) -> int:
        return sum(self.word(w) for w in words)


def chunk_words(
    words: list[str], counter: TokenCounter, max_tokens: int, overlap_words: int = 0
) -> list[Chunk]:
    """Consecutive chunks of at most `max_tokens` tokens covering every word once, each ending at a
    sentence end when one falls in its last fifth; `context_before` holds the `overlap_words` before it."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    chunks: list[Chunk] = []
    start = 0
    while start < len(words):
        end, used = start, 0
        while end < len(words) and (used + counter.word(words[end]) <= max_tokens or end == start):
            used += counter.word(words[end])
            end += 1
        end = _prefer_sentence_end(words, start, end)
        ctx = " ".join(words[max(0, start - overlap_words):start]) if overlap_words else ""
        chunks.append(Chunk(len(chunks), start, end, " ".join(words[start:end]), ctx))
        start = end
    return chunks


def _prefer_sentence_end(words: list[str], start: int, end: int) -> int:
    if end >= len(words):
        return end
    floor = start + max(1, (end - start) * 4 // 5)
    for i in range(end - 1, floor - 1, -1):
        if _SENTENCE_END.search(words[i]):
            return i + 1
    return end


def normalize_word(word: str) -> str:
    """Lower case, no punctuation, no diacritics (đ -> d): what is left is the word the speaker said."""
    stripped = unicodedata.normalize("NFD", word.lower().replace("đ", "d"))
    stripped = "".join(ch for ch in stripped if not unicodedata.combining(ch))
    return _PUNCT.sub("", stripped)


def comparable_words(text: str) -> list[str]:
    return [w for w in (normalize_word(t) for t in text.split()) if w]


def word_edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance counted in words (substitutions, insertions, deletions)."""
    if not ref:
        return len(hyp)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def edit_rate(raw: str, cleaned: str) -> tuple[float, int, int]:
    """(rate, edits, raw word count) of `cleaned` against `raw`, ignoring case, punctuation and
    diacritics: the guard measures rewording, not the punctuation and accents cleaning is meant to add."""
    ref, hyp = comparable_words(raw), comparable_words(cleaned)
    edits = word_edit_distance(ref, hyp)
    if not ref:
        return (0.0 if not hyp else 1.0), edits, 0
    return edits / len(ref), edits, len(ref)
