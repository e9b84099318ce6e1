"""Run one task through the fixed stages; return its output (the worker records it, never this module)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from maied import PIPELINE_VERSION
from maied.domain import Feature, PipelineOutput, TaskKind, TaskStatus, TaskWarning
from maied.pipeline.media import ensure_min_seconds
from maied.pipeline.models import ModelCache
from maied.settings import Settings
from maied.worker.protocol import TaskInput

StageReporter = Callable[[TaskStatus, float | None], None]
ProgressReporter = Callable[[float], None]
"""Seconds of audio transcribed so far (long recordings, after each window)."""
ASRPartKeeper = Callable[[dict[str, Any]], None]
"""Takes the ASR part (see `run_asr_part`) as soon as ASR ends, before a later stage can fail or crash."""
SAMPLE_RATE = 16000


@dataclass
class _Run:
    """What the stages of one task accumulate."""

    task: TaskInput
    settings: Settings
    models: ModelCache
    report: StageReporter
    out: PipelineOutput = field(default_factory=PipelineOutput)
    started: float = field(default_factory=time.monotonic)
    text: str = ""
    asr_punctuates: bool = True
    progress: ProgressReporter | None = None


def run_task(task: TaskInput, models: ModelCache, settings: Settings, report: StageReporter,
             progress: ProgressReporter | None = None, keep_asr_part: ASRPartKeeper | None = None) -> PipelineOutput:
    """The whole pipeline, or its LLM part when the task carries its stored ASR part. When a later stage
    follows the ASR of a recording, `keep_asr_part` gets the ASR part first, so that a failure or crash of
    that stage loses nothing (the worker stores it)."""
    run = _Run(task, settings, models, report, progress=progress)
    if task.asr_output is not None:
        _resume(run, task.asr_output)
    else:
        _first_part(run)
        if keep_asr_part is not None and task.kind == TaskKind.AUDIO and task.request.wants_llm():
            keep_asr_part(_asr_part(run))
    if task.request.wants_llm():
        _llm(run)
    _finish_metrics(run)
    return run.out


def run_asr_part(task: TaskInput, models: ModelCache, settings: Settings, report: StageReporter,
                 progress: ProgressReporter | None = None) -> dict[str, Any]:
    """Preprocessing and ASR only, for a task run in two parts (the ASR and LLM models do not fit on the GPU
    together): what `run_task` needs to go on later in another worker child, as plain JSON data."""
    run = _Run(task, settings, models, report, progress=progress)
    _first_part(run)
    return _asr_part(run)


def _asr_part(run: _Run) -> dict[str, Any]:
    return {"output": run.out.to_dict(), "text": run.text, "asr_punctuates": run.asr_punctuates,
            "elapsed": round(time.monotonic() - run.started, 3)}


def _first_part(run: _Run) -> None:
    """Audio: decode and transcribe; text: take it as the transcript."""
    run.out.versions["pipeline_version"] = PIPELINE_VERSION
    if run.task.kind == TaskKind.AUDIO:
        _transcribe(run, _preprocess(run))
    else:
        run.text = run.task.input_text or ""
        run.out.metrics["input_characters"] = len(run.text)


def _resume(run: _Run, part: dict[str, Any]) -> None:
    out = part["output"]
    run.out = PipelineOutput(results=dict(out.get("results") or {}), metrics=dict(out.get("metrics") or {}),
                             versions=dict(out.get("versions") or {}),
                             warnings=[TaskWarning(**w) for w in out.get("warnings") or []])
    run.text = str(part.get("text") or "")
    run.asr_punctuates = bool(part.get("asr_punctuates", True))
    run.started = time.monotonic() - float(part.get("elapsed") or 0.0)  # processing time spans both parts


def _preprocess(run: _Run) -> np.ndarray | None:
    """The decoded audio, or None for a long (or unknown-length) recording, decoded window by window while
    it is transcribed."""
    from maied.pipeline.long_audio import WHOLE_FILE_MAX_SECONDS, plan_decoding
    from maied.pipeline.media import decode_to_mono16k, ensure_min_duration

    started = time.monotonic()
    plan = plan_decoding(_audio_path(run.task))
    if plan.windowed:
        run.out.metrics["input_duration_seconds"] = round(plan.header_seconds or 0.0, 3) or None
        run.out.metrics["preprocess_seconds"] = round(time.monotonic() - started, 3)
        return None
    audio = decode_to_mono16k(_audio_path(run.task), max_seconds=WHOLE_FILE_MAX_SECONDS,
                              max_audio_seconds=run.settings.MAX_AUDIO_SECONDS)
    duration = len(audio) / SAMPLE_RATE
    run.out.metrics["input_duration_seconds"] = round(duration, 3)
    run.out.metrics["preprocess_seconds"] = round(time.monotonic() - started, 3)
    ensure_min_duration(audio)
    return audio


def _audio_path(task: TaskInput) -> Any:
    from pathlib import Path

    if not task.audio_path:
        raise ValueError(f"task {task.id} has no audio")
    return Path(task.audio_path)


def _transcribe(run: _Run, audio: np.ndarray | None) -> None:
    from maied.asr.base import ASROptions
    from maied.asr.factory import asr_model_key, create_asr_backend

    duration = run.out.metrics["input_duration_seconds"]
    run.report(TaskStatus.PROCESSING_ASR, duration)
    request, settings = run.task.request, run.settings
    name = request.asr_backend or settings.ASR_BACKEND
    key = asr_model_key(name, settings)
    loaded_before = run.models.holds("asr", key)
    load_started = time.monotonic()
    backend = run.models.get("asr", key, lambda: create_asr_backend(name, settings))
    if not loaded_before:
        run.out.metrics["asr_model_load_seconds"] = round(time.monotonic() - load_started, 3)
    if not getattr(backend, "own_vad", True):
        from maied.pipeline.speech_chunks import SpeechChunkedBackend

        backend = SpeechChunkedBackend(backend)
    options = ASROptions.for_task(request, settings, word_timestamps=bool(run.task.extra.get("word_timestamps", True)))
    started = time.monotonic()
    if audio is None:
        from maied.pipeline.long_audio import transcribe_windowed

        result = transcribe_windowed(_audio_path(run.task), backend, options, on_progress=run.progress,
                                     max_seconds=run.settings.MAX_AUDIO_SECONDS)
        duration = run.out.metrics["input_duration_seconds"] = result.metrics["audio_seconds"]
        ensure_min_seconds(duration)
    else:
        result = backend.transcribe(audio, options)
    seconds = time.monotonic() - started
    described = backend.describe()
    if described.get("name") == "whisper":  # the choices only Whisper honours: task, temperature, prompt
        described["decoding"] = {**(described.get("decoding") or {}), **options.task_choices()}
    _record_asr(run, described, result, seconds, duration)


def _record_asr(run: _Run, described: dict[str, Any], result: Any, seconds: float, duration: float) -> None:
    text = result.text
    run.text = text
    run.asr_punctuates = bool(described.get("punctuates", True))
    results = run.out.results
    results["raw_transcript"] = text
    results["segments"] = [s.to_dict() for s in result.segments]
    results["language"] = result.language
    metrics = run.out.metrics
    metrics.update(result.metrics)
    metrics["language_probability"] = result.language_probability
    metrics["asr_seconds"] = round(seconds, 3)
    metrics["asr_rtf"] = round(seconds / duration, 4) if duration else None
    metrics["asr_confidence_avg"] = result.confidence_avg
    run.out.versions["asr_backend"] = {k: v for k, v in described.items() if k not in ("embedded", "punctuates")}
    run.out.warnings.extend(result.warnings)
    if described.get("embedded") or described.get("variant") == "embedded":
        run.out.warnings.append(TaskWarning(
            "EMBEDDED_MODEL",
            f"transcribed with the embedded {described.get('model_name', 'Whisper base')} model; set "
            "WHISPER_MODEL_VARIANT (or ASR_BACKEND=chunkformer) for production accuracy",
        ))


def _llm(run: _Run) -> None:
    from maied.llm.base import Purpose
    from maied.llm.factory import create_llm_backend, llm_model_key
    from maied.pipeline.llm_stage import run_llm_stage
    from maied.templates import TemplateStore

    run.report(TaskStatus.PROCESSING_LLM, None)
    settings = run.settings

    def backend_for(purpose: str) -> Any:
        which = cast(Purpose, purpose)
        key = llm_model_key(settings, which)
        # One slot per distinct model: the same model serves both purposes; two different ones both stay.
        return run.models.get("llm:" + "|".join(key), key, lambda: create_llm_backend(settings, which))

    templates = TemplateStore(builtin_dir=builtin_templates_dir(), user_dir=settings.templates_dir)
    started = time.monotonic()
    stage = run_llm_stage(backend_for, run.text, run.task.request, templates, settings,
                          asr_model_punctuates=run.asr_punctuates and run.task.kind == TaskKind.AUDIO)
    run.out.metrics["llm_seconds"] = round(time.monotonic() - started, 3)
    wanted = set(run.task.request.features)
    for key, value in stage.results.items():
        if key in wanted or key == "enhancement_metrics" and Feature.ENHANCEMENT_METRICS.value in wanted:
            run.out.results[key] = value
    run.out.metrics.update(stage.metrics)
    run.out.versions.update(stage.versions)
    run.out.warnings.extend(stage.warnings)


def builtin_templates_dir() -> Any:
    """The shipped templates: the checkout's templates/ (editable installs), else the copy the wheel
    installs under <prefix>/share/maie/templates."""
    import sys
    from pathlib import Path

    checkout = Path(__file__).resolve().parent.parent.parent / "templates"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "maie" / "templates"


def _finish_metrics(run: _Run) -> None:
    metrics = run.out.metrics
    total = time.monotonic() - run.started
    metrics["processing_time_seconds"] = round(total, 3)
    duration = metrics.get("input_duration_seconds")
    metrics["rtf"] = round(total / duration, 4) if duration else None
    if Feature.RAW_TRANSCRIPT.value not in run.task.request.features and run.task.kind == TaskKind.TEXT:
        run.out.results.pop("raw_transcript", None)
