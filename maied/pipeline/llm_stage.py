"""The LLM stage: the cleaned transcript and the templated summary a task asked for.

Enhancement runs when `clean_transcript` or `enhancement_metrics` is asked for (skipped, with a
warning, when the ASR model already punctuates); the summary reads the cleaned text when there is one.
`backend_for(purpose)` hands out the loaded model (the worker keeps it between tasks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from maied.domain import Feature, TaskRequest, TaskWarning
from maied.errors import InvalidRequest, TemplateRequired
from maied.llm.base import GenerationStats, LLMBackend, Purpose
from maied.llm.enhance import EnhancementOutcome, enhance_transcript, skipped_warning
from maied.llm.summarize import summarize
from maied.llm.weights import embedded_model
from maied.settings import Settings
from maied.templates import ENHANCEMENT_TEMPLATE_ID, TemplateStore


@dataclass
class LLMStageOutput:
    results: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    warnings: list[TaskWarning] = field(default_factory=list)


def run_llm_stage(
    backend_for: Callable[[str], LLMBackend],
    text: str,
    request: TaskRequest,
    templates: TemplateStore,
    settings: Settings,
    asr_model_punctuates: bool,
    *,
    language: str | None = None,
    source: str | None = None,
    speakers: list[str] | None = None,
) -> LLMStageOutput:
    """Run the LLM features of `request` on `text`. `language` (e.g. the detected one) wins over the
    request's; `source` is the recording the text comes from (GenerationRequest.source); `speakers`: the
    labels when `text` is a diarized transcript's `SPEAKER_n: …` turns (the summary templates name who said
    what with them)."""
    features = set(request.features)
    lang = language or request.language or ""
    out = LLMStageOutput()
    stats = GenerationStats()
    used: dict[str, LLMBackend] = {}
    summary_text = text
    if features & {Feature.CLEAN_TRANSCRIPT.value, Feature.ENHANCEMENT_METRICS.value}:
        outcome = _enhance(backend_for, used, text, request, templates, settings, asr_model_punctuates, lang, stats,
                           source)
        out.warnings.extend(outcome.warnings)
        if Feature.CLEAN_TRANSCRIPT.value in features:
            out.results["clean_transcript"] = outcome.text
        if Feature.ENHANCEMENT_METRICS.value in features:
            out.results["enhancement_metrics"] = outcome.metrics()
        out.metrics["edit_rate_cleaning"] = round(outcome.edit_rate, 4)
        summary_text = outcome.text or text
    if Feature.SUMMARY.value in features:
        template = _summary_template(templates, request.template_id)
        backend = used["summary"] = backend_for("summary")
        result = summarize(backend, template, summary_text, language=lang, vocabulary=request.vocabulary,
                           stats=stats, source=source, speakers=speakers)
        out.results["summary"] = result.summary
        out.metrics.update(summary_pieces=result.pieces, summary_merge_levels=result.merge_levels,
                           summary_retries=result.retries, summary_language=result.language)
    out.metrics.update(_stats_metrics(stats, used))
    described = used.get("summary") or used.get("enhance")
    if described is not None:
        out.versions["summarization_llm"] = described.describe()
    warning = _embedded_warning(settings, used)
    if warning is not None:
        out.warnings.append(warning)
    return out


def _embedded_warning(settings: Settings, used: dict[str, LLMBackend]) -> TaskWarning | None:
    """EMBEDDED_MODEL when an embedded (runs-anywhere) model wrote a summary or a clean transcript."""
    models = {p: embedded_model(settings, cast(Purpose, p)) for p in sorted(used)}
    written = [p for p, m in models.items() if m is not None]
    if not written:
        return None
    names = sorted({m.name for m in models.values() if m is not None})
    what = " and ".join("summary" if p == "summary" else "clean transcript" for p in written)
    return TaskWarning("EMBEDDED_MODEL", (
        f"{what} written by the embedded {' and '.join(names)} on this host's CPU: a small model that can miss "
        "facts; for production accuracy set LLM_SUM_MODEL / LLM_ENHANCE_MODEL (e.g. Qwen3-4B on vLLM)"))


def _enhance(
    backend_for: Callable[[str], LLMBackend],
    used: dict[str, LLMBackend],
    text: str,
    request: TaskRequest,
    templates: TemplateStore,
    settings: Settings,
    asr_model_punctuates: bool,
    language: str,
    stats: GenerationStats,
    source: str | None = None,
) -> EnhancementOutcome:
    if asr_model_punctuates:
        reason = "the ASR model already writes punctuation and capitals; the raw transcript is the clean one"
        return EnhancementOutcome(text=text, edit_rate=0.0, chunks=0, rejected_chunks=0,
                                  warnings=[skipped_warning(reason)])
    backend = used["enhance"] = backend_for("enhance")
    return enhance_transcript(backend, templates.get(ENHANCEMENT_TEMPLATE_ID), text,
                              max_edit_rate=settings.LLM_MAX_EDIT_RATE, language=language,
                              vocabulary=request.vocabulary, stats=stats, source=source)


def _summary_template(templates: TemplateStore, template_id: str | None) -> Any:
    if not template_id:
        raise TemplateRequired("summary needs a template_id (GET /v1/templates lists them)")
    template = templates.get(template_id)
    if template.kind != "summary":
        raise InvalidRequest(f"template {template_id!r} is not a summary template", details={"template_id": template_id})
    return template


def _stats_metrics(stats: GenerationStats, used: dict[str, LLMBackend]) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "llm_seconds": round(stats.seconds, 3),
        "llm_prompt_tokens": stats.prompt_tokens,
        "llm_completion_tokens": stats.completion_tokens,
        "llm_tokens_per_second": round(stats.tokens_per_second, 2),
    }
    for purpose, seconds in stats.by_purpose.items():
        metrics[f"llm_{purpose}_seconds"] = round(seconds, 3)
    loads = {id(b): b.load_seconds for b in used.values()}
    if loads:
        metrics["llm_model_load_seconds"] = round(sum(loads.values()), 3)
    return metrics
