"""Transcript enhancement: punctuation, capitals, diacritics and obvious slips, chunk by chunk.

The transcript is cut into token-budgeted chunks; each chunk carries the words before it as context (the
overlap) and every chunk of the transcript goes to the engine in ONE `generate` call. A guard compares
each answer with its raw chunk: above `max_edit_rate` (words changed, ignoring case, punctuation and
diacritics) the model rewrote instead of correcting, so the raw chunk is kept and a warning says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from maied.domain import TaskWarning
from maied.llm.base import GenerationRequest, GenerationStats, LLMBackend
from maied.llm.summarize import CHAT_OVERHEAD_TOKENS, parse_and_validate
from maied.llm.textwork import Chunk, TokenCounter, chunk_words, edit_rate
from maied.templates import Template, validator_for_schema

MAX_CHUNK_TOKENS = 384
"""Largest chunk even with a long context: small pieces keep a model from drifting into rewriting."""
OVERLAP_WORDS = 24
OUTPUT_FACTOR = 1.6
"""Answer tokens per chunk token: punctuation, capitals and the JSON wrapper add some."""


@dataclass
class EnhancementOutcome:
    text: str
    edit_rate: float
    chunks: int
    rejected_chunks: int
    warnings: list[TaskWarning] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        """The `enhancement_metrics` result."""
        return {"edit_rate": round(self.edit_rate, 4), "chunks": self.chunks, "rejected_chunks": self.rejected_chunks}


def chunk_budget(backend: LLMBackend, template: Template, variables: dict[str, Any],
                 max_chunk_tokens: int = MAX_CHUNK_TOKENS) -> int:
    """Tokens of transcript per chunk that fit with the instruction, the overlap and the answer."""
    sample_ctx = " ".join(["word"] * OVERLAP_WORDS)
    fixed = backend.count_tokens(template.render(transcript="", context_before=sample_ctx, **variables))
    room = backend.context_length - fixed - CHAT_OVERHEAD_TOKENS - 32
    return max(16, min(max_chunk_tokens, int(room / (1 + OUTPUT_FACTOR))))


def enhance_transcript(
    backend: LLMBackend,
    template: Template,
    text: str,
    *,
    max_edit_rate: float,
    language: str = "",
    vocabulary: list[str] | None = None,
    stats: GenerationStats | None = None,
    max_chunk_tokens: int = MAX_CHUNK_TOKENS,
    source: str | None = None,
) -> EnhancementOutcome:
    """The cleaned transcript; chunks the guard rejects (or that come back malformed) stay raw. `source` is
    the recording the text comes from (GenerationRequest.source)."""
    words = text.split()
    if not words:
        return EnhancementOutcome(text="", edit_rate=0.0, chunks=0, rejected_chunks=0)
    variables: dict[str, Any] = {"language": language, "vocabulary": list(vocabulary or [])}
    counter = TokenCounter(backend.count_tokens)
    chunks = chunk_words(words, counter, chunk_budget(backend, template, variables, max_chunk_tokens),
                         OVERLAP_WORDS)
    requests = [_request(template, chunk, counter, variables, source) for chunk in chunks]
    started = time.monotonic()
    generations = backend.generate(requests)
    if stats is not None:
        stats.add("enhance", time.monotonic() - started, generations)
    validator = validator_for_schema(template.schema)
    pieces: list[str] = []
    problems: list[str] = []
    edits = total = 0
    for chunk, gen in zip(chunks, generations, strict=True):
        cleaned, problem = _judge(chunk, gen.text, validator, max_edit_rate, gen.finish_reason == "length")
        pieces.append(cleaned if problem is None else chunk.text)
        if problem is not None:
            problems.append(f"chunk {chunk.index + 1} (words {chunk.start + 1}-{chunk.end}): {problem}")
        _, e, n = edit_rate(chunk.text, pieces[-1])
        edits, total = edits + e, total + n
    return EnhancementOutcome(
        text=" ".join(pieces),
        edit_rate=edits / total if total else 0.0,
        chunks=len(chunks),
        rejected_chunks=len(problems),
        warnings=[_rejected_warning(problems, len(chunks), max_edit_rate)] if problems else [],
    )


def _request(template: Template, chunk: Chunk, counter: TokenCounter, variables: dict[str, Any],
             source: str | None = None) -> GenerationRequest:
    prompt = template.render(transcript=chunk.text, context_before=chunk.context_before, **variables)
    max_tokens = int(counter.words(chunk.text.split()) * OUTPUT_FACTOR) + 32
    return GenerationRequest(prompt=prompt, max_tokens=max_tokens, temperature=0.0, json_schema=template.schema,
                             source=source)


def _judge(chunk: Chunk, answer: str, validator: Any, max_edit_rate: float, truncated: bool) -> tuple[str, str | None]:
    value, error = parse_and_validate(answer, validator, truncated=truncated)
    if value is None:
        return chunk.text, f"the answer was not usable ({error})"
    cleaned = " ".join(str(value.get("text", "")).split())
    rate, _, _ = edit_rate(chunk.text, cleaned)
    if rate > max_edit_rate:
        return chunk.text, f"edit rate {rate:.2f} > {max_edit_rate:.2f}"
    return cleaned, None


def _rejected_warning(problems: list[str], chunks: int, max_edit_rate: float) -> TaskWarning:
    shown = "; ".join(problems[:5]) + ("; …" if len(problems) > 5 else "")
    return TaskWarning(
        code="ENHANCEMENT_REJECTED",
        message=(f"{len(problems)} of {chunks} transcript chunk(s) kept as recognised, because the model's "
                 f"correction changed too much (LLM_MAX_EDIT_RATE={max_edit_rate}) or was unusable: {shown}"),
    )


def skipped_warning(reason: str) -> TaskWarning:
    return TaskWarning(code="ENHANCEMENT_SKIPPED", message=f"transcript enhancement skipped: {reason}")

