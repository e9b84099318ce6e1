"""Templated JSON summaries: render -> generate with the schema enforced -> validate -> one retry -> error.

A transcript that does not fit the model's context is summarised in pieces (one batched call), and the
pieces' summaries are merged with the same template (`merging=True`), level by level, until one remains:
map-reduce, never truncation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema

from maied.errors import LLMProcessingError
from maied.llm.base import (
    SUMMARY_REPETITION_PENALTY,
    Generation,
    GenerationRequest,
    GenerationStats,
    LLMBackend,
)
from maied.llm.language import detect_text_language, language_name
from maied.llm.textwork import TokenCounter, chunk_words
from maied.templates import Template, validator_for_schema

AnswerHook = Callable[[int, int, str], str]
"""(attempt, request index, answer text) -> the text to validate. For tests of the retry path only."""

CHAT_OVERHEAD_TOKENS = 48
"""Room for the chat template's own tokens (role markers, the default system turn)."""
MAX_OUTPUT_TOKENS = 4096
BAD_ANSWER_SHOWN_CHARS = 1200


@dataclass
class SummaryOutcome:
    summary: dict[str, Any]
    pieces: int = 1
    """Transcript pieces summarised separately (1 = the whole transcript fitted)."""
    merge_levels: int = 0
    retries: int = 0
    language: str = ""
    """The language the summary was asked to be written in ("" = not known)."""


SYSTEM_PROMPT = (
    "You turn a transcript into the JSON object the user asks for. Use only what the transcript says: never "
    "invent names, owners, dates, numbers or decisions. Copy figures and dates the way they were said; never "
    "add a year, a weekday or a date that was not said. A field with nothing said for it stays empty (\"\" or "
    "[])."
)
"""The same for every template and language, so that the model's cache of a transcript's tokens serves every
template asked of it (templates put the transcript first; the language comes last, in `language_line`)."""
LANGUAGE_REMINDERS = {"vi": " Viết mọi nội dung bằng tiếng Việt có dấu, bằng lời của bạn: tóm tắt, không chép lại nguyên văn các câu."}


def output_language(template: Template, text: str, language: str) -> str:
    """The language a summary is written in: the template's own (`x-maie-language`, e.g. a summary
    template made for English), else the transcript's (given, or detected from the text)."""
    fixed = template.schema.get("x-maie-language") if isinstance(template.schema, dict) else None
    if isinstance(fixed, str) and fixed:
        return fixed
    return language or detect_text_language(text)[0]


def language_line(language: str) -> str:
    """The last line of every summary prompt: the language to write in."""
    name = language_name(language) or "the language of the transcript"
    return f"Write every text value in {name}." + LANGUAGE_REMINDERS.get(language, "")


def output_budget(backend: LLMBackend, template: Template) -> int:
    """Tokens reserved for a summary: about the largest answer the schema allows, within half the context."""
    chars = _schema_max_chars(template.schema)
    wanted = int(chars / 2.5) + 64  # Vietnamese takes more tokens per character than English
    return max(128, min(wanted, MAX_OUTPUT_TOKENS, backend.context_length // 2))


def input_budget(backend: LLMBackend, template: Template, **variables: Any) -> int:
    """Tokens of transcript that fit next to the rendered instruction and the answer."""
    empty = template.render(transcript="", **variables)
    extra = SYSTEM_PROMPT + language_line(str(variables.get("language") or ""))
    used = (backend.count_tokens(empty) + backend.count_tokens(extra) + output_budget(backend, template)
            + CHAT_OVERHEAD_TOKENS)
    return backend.context_length - used


def summarize(
    backend: LLMBackend,
    template: Template,
    text: str,
    *,
    language: str = "",
    vocabulary: list[str] | None = None,
    stats: GenerationStats | None = None,
    answer_hook: AnswerHook | None = None,
    source: str | None = None,
    speakers: list[str] | None = None,
) -> SummaryOutcome:
    """A summary of `text` valid against `template.schema` (map-reduce when `text` exceeds the context).
    `source` is the recording the text comes from (GenerationRequest.source); `speakers`: the labels of a
    diarized transcript's turns (`SPEAKER_1: …`), for templates that use them."""
    stats = stats if stats is not None else GenerationStats()
    language = output_language(template, text, language)
    run = _Runner(backend, template, language, list(vocabulary or []), stats, answer_hook, source,
                  list(speakers or []))
    counter = TokenCounter(backend.count_tokens)
    words = text.split()
    budget = run.budget(merging=False)
    if counter.words(words) <= budget:
        return SummaryOutcome(run.batch([text], merging=False)[0], retries=run.retries, language=language)
    pieces = [c.text for c in chunk_words(words, counter, budget)]
    partials = run.batch(pieces, merging=False)
    summary, levels = _reduce(run, counter, partials)
    return SummaryOutcome(summary, pieces=len(pieces), merge_levels=levels, retries=run.retries,
                          language=language)


def _reduce(run: _Runner, counter: TokenCounter, partials: list[dict[str, Any]]) -> tuple[dict[str, Any], int]:
    """Merge partial summaries in groups that fit the context until one is left."""
    budget = run.budget(merging=True)
    levels = 0
    while len(partials) > 1 or levels == 0:
        groups = _group(partials, counter, budget)
        if len(groups) == len(partials) and len(partials) > 1:
            raise LLMProcessingError(
                f"the model's context ({run.backend.context_length} tokens) is too small to merge two partial "
                "summaries; use a model with a longer context",
            )
        partials = run.batch([_merge_text(g) for g in groups], merging=True)
        levels += 1
    return partials[0], levels


def _group(partials: list[dict[str, Any]], counter: TokenCounter, budget: int) -> list[list[dict[str, Any]]]:
    groups: list[list[dict[str, Any]]] = [[]]
    used = 0
    for partial in partials:
        cost = counter.words(_merge_text([partial]).split())
        if groups[-1] and used + cost > budget:
            groups.append([])
            used = 0
        groups[-1].append(partial)
        used += cost
    return groups


def _merge_text(partials: list[dict[str, Any]]) -> str:
    return "\n".join(f"[{i}] {json.dumps(p, ensure_ascii=False)}" for i, p in enumerate(partials, 1))


class _Runner:
    """Renders, generates (all pieces in one call), validates and retries once for one template."""

    def __init__(self, backend: LLMBackend, template: Template, language: str, vocabulary: list[str],
                 stats: GenerationStats, answer_hook: AnswerHook | None, source: str | None = None,
                 speakers: list[str] | None = None):
        self.backend, self.template, self.stats, self.hook = backend, template, stats, answer_hook
        self.source = source
        self.variables: dict[str, Any] = {"language": language, "language_name": language_name(language),
                                          "vocabulary": vocabulary, "speakers": speakers or []}
        self.last_line = language_line(language)
        self.validator = validator_for_schema(template.schema)
        self.retries = 0
        self._budgets: dict[bool, int] = {}

    def budget(self, *, merging: bool) -> int:
        if merging not in self._budgets:
            self._budgets[merging] = input_budget(self.backend, self.template, merging=merging, **self.variables)
        if self._budgets[merging] < 64:
            raise LLMProcessingError(
                f"template {self.template.id!r} leaves no room for text in a {self.backend.context_length}-token context")
        return self._budgets[merging]

    def batch(self, texts: list[str], *, merging: bool) -> list[dict[str, Any]]:
        prompts = [self.template.render(transcript=t, merging=merging, **self.variables) for t in texts]
        first = self._generate([self._chat(p) for p in prompts], attempt=0)
        results: list[dict[str, Any] | None] = [None] * len(texts)
        failed: dict[int, tuple[str, str]] = {}
        for i, gen in enumerate(first):
            value, error = self._check(gen, attempt=0, index=i)
            if error is None:
                results[i] = value
            else:
                failed[i] = (gen.text, error)
        if failed:
            self.retries += len(failed)
            self._retry(prompts, failed, results)
        return [r for r in results if r is not None]

    def _retry(self, prompts: list[str], failed: dict[int, tuple[str, str]], results: list[dict[str, Any] | None]) -> None:
        order = sorted(failed)
        chats = [[self._chat(prompts[i])[0], *_retry_chat(self._chat(prompts[i])[1]["content"], *failed[i])]
                 for i in order]
        for i, gen in zip(order, self._generate(chats, attempt=1), strict=True):
            value, error = self._check(gen, attempt=1, index=i)
            if error is not None:
                raise LLMProcessingError(
                    f"the summary does not match template {self.template.id!r} after a retry: {error}",
                    details={"template_id": self.template.id, "validation_error": error},
                )
            results[i] = value

    def _chat(self, prompt: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"{prompt}\n\n{self.last_line}"}]

    def _generate(self, chats: list[list[dict[str, str]]], *, attempt: int) -> list[Generation]:
        requests = []
        for chat in chats:
            used = sum(self.backend.count_tokens(m["content"]) for m in chat) + CHAT_OVERHEAD_TOKENS
            room = self.backend.context_length - used
            max_tokens = min(room, output_budget(self.backend, self.template) if attempt == 0 else room)
            if max_tokens < 16:
                raise LLMProcessingError(f"the prompt does not fit the model's {self.backend.context_length}-token context")
            requests.append(GenerationRequest(messages=chat, max_tokens=max_tokens, temperature=0.0,
                                              json_schema=self.template.schema,
                                              repetition_penalty=SUMMARY_REPETITION_PENALTY, source=self.source))
        started = time.monotonic()
        generations = self.backend.generate(requests)
        self.stats.add("summary", time.monotonic() - started, generations)
        return generations

    def _check(self, gen: Generation, *, attempt: int, index: int) -> tuple[dict[str, Any] | None, str | None]:
        text = self.hook(attempt, index, gen.text) if self.hook else gen.text
        return parse_and_validate(text, self.validator, truncated=gen.finish_reason == "length")


def parse_and_validate(
    text: str, validator: jsonschema.protocols.Validator, *, truncated: bool = False
) -> tuple[dict[str, Any] | None, str | None]:
    """(the object, None) when `text` is JSON valid against the schema, else (None, what is wrong)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        cut = " (the answer was cut off at the token limit)" if truncated else ""
        return None, f"the answer is not valid JSON{cut}: {exc}"
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return None, f"at {where}: {error.message[:300]}"
    if not isinstance(value, dict):
        return None, "the answer is not a JSON object"
    return value, None


def _retry_chat(prompt: str, bad_answer: str, error: str) -> list[dict[str, str]]:
    shown = bad_answer[:BAD_ANSWER_SHOWN_CHARS] + ("…" if len(bad_answer) > BAD_ANSWER_SHOWN_CHARS else "")
    return [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": shown},
        {"role": "user", "content": f"That answer is not valid: {error}. Answer again with only the JSON "
                                    "object, following the field list and its length limits."},
    ]


def _schema_max_chars(schema: Any) -> int:
    """A rough upper bound on the characters of a JSON answer the schema allows."""
    if not isinstance(schema, dict):
        return 0
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties") or {}
        return 2 + sum(len(k) + 4 + _schema_max_chars(v) for k, v in props.items())
    if kind == "array":
        return 2 + int(schema.get("maxItems", 4)) * (2 + _schema_max_chars(schema.get("items") or {}))
    if kind == "string":
        return 2 + int(schema.get("maxLength", 200))
    return 12
