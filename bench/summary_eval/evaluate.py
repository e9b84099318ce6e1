"""Run the product's summarizer over the evaluation set and score each summary."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from bench.summary_eval.scoring import Case, Score, score
from maied.errors import MaieError
from maied.llm.base import LLMBackend
from maied.llm.language import detect_text_language
from maied.llm.summarize import output_language, summarize
from maied.templates import TemplateStore

KIND_TEMPLATES = {"meeting": "meeting-notes", "interview": "interview-notes"}
"""The template that fits each kind of recording: its facts are scored with it."""
SUMMARY_TEMPLATES = ("meeting-notes", "interview-notes", "general-summary-en", "general-summary-vi")


@dataclass
class Outcome:
    case: Case
    template_id: str
    seconds: float
    score: Score | None = None
    error: str = ""
    summary: dict | None = None


def run_case(backend: LLMBackend, templates: TemplateStore, case: Case, template_id: str,
             language: str = "") -> Outcome:
    """Summarise one case with one template, as a text task (language "" = detected from the text, as
    for /v1/process_text; an audio task passes the language Whisper heard)."""
    template = templates.get(template_id)
    started = time.monotonic()
    try:
        result = summarize(backend, template, case.transcript, language=language)
    except MaieError as exc:
        return Outcome(case, template_id, time.monotonic() - started, error=f"{exc.code}: {exc}")
    seconds = time.monotonic() - started
    expected = output_language(template, case.transcript, case.language)
    scored = score(case, template_id, result.summary, expected, lambda t: detect_text_language(t)[0])
    return Outcome(case, template_id, seconds, scored, summary=result.summary)


def run_all(backend: LLMBackend, templates: TemplateStore, cases: Iterable[Case],
            template_ids: Iterable[str] | None = None, skip: Collection[tuple[str, str]] = ()) -> list[Outcome]:
    """Each case with its kind's template, or with each of `template_ids`; (case id, template id) pairs in
    `skip` are left out."""
    outcomes = []
    for case in cases:
        for template_id in (template_ids or [KIND_TEMPLATES[case.kind]]):
            if (case.id, template_id) not in skip:
                outcomes.append(run_case(backend, templates, case, template_id))
    return outcomes
