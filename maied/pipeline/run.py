"""Run one task through the fixed stages; return its output (the worker records it, never this module)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from maied import PIPELINE_VERSION
from maied.asr.base import ASRBackend, ASROptions, ASRResult
from maied.asr.factory import asr_model_key, create_asr_backend
from maied.domain import (
    SAMPLE_RATE,
    AsrPart,
    Feature,
    PipelineOutput,
    TaskInput,
    TaskKind,
    TaskStatus,
    TaskWarning,
)
from maied.llm.base import Purpose
from maied.llm.factory import create_llm_backend, llm_model_key
from maied.pipeline.llm_stage import run_llm_stage
from maied.pipeline.long_audio import WHOLE_FILE_MAX_SECONDS, plan_decoding, transcribe_windowed
from maied.pipeline.media import decode_to_mono16k, ensure_min_duration, ensure_min_seconds
from maied.pipeline.model_cache import ModelCache
from maied.pipeline.speech_chunks import SpeechChunkedBackend
from maied.settings import Settings
from maied.templates import TemplateStore, builtin_templates_dir

StageReporter = Callable[[TaskStatus, float | None], None]
ProgressReporter = Callable[[float], None]
"""Seconds of audio transcribed so far (long recordings, after each window)."""
AsrPartKeeper = Callable[[AsrPart], None]
"""Takes the ASR part (see `run_asr_part`) as soon as ASR ends, before a later stage can fail or crash."""


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
             progress: ProgressReporter | None = None, keep_asr_part: AsrPartKeeper | None = None) -> PipelineOutput:
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
                 progress: ProgressReporter | None = None) -> AsrPart:
    """Preprocessing and ASR only, for a task run in two parts (the ASR and LLM models do not fit on the GPU
    together): what `run_task` needs to go on later in another worker child."""
    run = _Run(task, settings, models, report, progress=progress)
    _first_part(run)
    return _asr_part(run)


def _asr_part(run: _Run) -> AsrPart:
    return AsrPart(run.out, run.text, run.asr_punctuates, round(time.monotonic() - run.started, 3))


def _first_part(run: _Run) -> None:
    """Audio: decode and transcribe; text: take it as the transcript."""
    run.out.versions["pipeline_version"] = PIPELINE_VERSION
    if run.task.kind == TaskKind.AUDIO:
        _transcribe(run, _preprocess(run))
    else:
        run.text = run.task.input_text or ""
        run.out.metrics["input_characters"] = len(run.text)


def _resume(run: _Run, part: AsrPart) -> None:
    run.out = part.output
    run.text = part.text
    run.asr_punctuates = part.asr_punctuates
    run.started = time.monotonic() - part.elapsed  # processing time spans both parts


def _preprocess(run: _Run) -> np.ndarray | None:
    """The decoded audio, or None for a long (or unknown-length) recording, decoded window by window while
    it is transcribed."""
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
    if not task.audio_path:
        raise ValueError(f"task {task.id} has no audio")
    return Path(task.audio_path)


def _transcribe(run: _Run, audio: np.ndarray | None) -> None:
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
    if not backend.own_vad:
        backend = SpeechChunkedBackend(backend)
    options = ASROptions.for_task(request, settings, word_timestamps=True)
    options.source = run.task.audio_path
    started = time.monotonic()
    if audio is None:
        result = transcribe_windowed(_audio_path(run.task), backend, options, on_progress=run.progress,
                                     max_seconds=run.settings.MAX_AUDIO_SECONDS)
        duration = run.out.metrics["input_duration_seconds"] = result.metrics["audio_seconds"]
        ensure_min_seconds(duration)
    else:
        result = backend.transcribe(audio, options)
    seconds = time.monotonic() - started
    _record_asr(run, backend, options, result, seconds, duration)
    if request.enable_diarization:
        _diarize(run, audio)


def _diarize(run: _Run, audio: np.ndarray | None) -> None:
    """Speakers onto the segments (same decoded audio, after ASR); the LLM then reads speaker turns."""
    from maied.domain import speaker_turns_text
    from maied.pipeline.diarize_stage import audio_pieces, diarize_segments

    results = run.out.results
    stage = diarize_segments(run.models, run.settings, run.task.request,
                             audio_pieces(audio, _audio_path(run.task)), results.get("segments") or [])
    results["segments"], results["speakers"] = stage.segments, stage.speakers
    run.out.metrics.update(stage.metrics)
    run.out.versions.update(stage.versions)
    run.text = speaker_turns_text(stage.segments) or run.text


def _record_asr(run: _Run, backend: ASRBackend, options: ASROptions, result: ASRResult, seconds: float,
                duration: float) -> None:
    described = backend.describe()
    if described.get("name") == "whisper":  # the choices only Whisper honours: task, temperature, prompt
        described["decoding"] = {**(described.get("decoding") or {}), **options.task_choices()}
    text = result.text
    run.text = text
    run.asr_punctuates = backend.punctuates
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
    run.out.versions["asr_backend"] = described
    run.out.warnings.extend(result.warnings)
    if backend.embedded:
        run.out.warnings.append(TaskWarning(
            "EMBEDDED_MODEL",
            f"transcribed with the embedded {described.get('model_name', 'Whisper base')} model; set "
            "WHISPER_MODEL_VARIANT (or ASR_BACKEND=chunkformer) for production accuracy",
        ))


def _llm(run: _Run) -> None:
    run.report(TaskStatus.PROCESSING_LLM, None)
    settings = run.settings

    def backend_for(purpose: str) -> Any:
        which = cast(Purpose, purpose)
        key = llm_model_key(settings, which)
        # One slot per distinct model: the same model serves both purposes; two different ones both stay.
        return run.models.get("llm", key, lambda: create_llm_backend(settings, which), slot="llm:" + "|".join(key))

    templates = TemplateStore(builtin_dir=builtin_templates_dir(), user_dir=settings.templates_dir)
    started = time.monotonic()
    speakers = [s["id"] for s in run.out.results.get("speakers") or []]
    stage = run_llm_stage(backend_for, run.text, run.task.request, templates, settings,
                          asr_model_punctuates=run.asr_punctuates and run.task.kind == TaskKind.AUDIO,
                          source=run.task.audio_path, speakers=speakers)
    run.out.metrics["llm_seconds"] = round(time.monotonic() - started, 3)
    wanted = set(run.task.request.features)
    for key, value in stage.results.items():
        if key in wanted or key == "enhancement_metrics" and Feature.ENHANCEMENT_METRICS.value in wanted:
            run.out.results[key] = value
    run.out.metrics.update(stage.metrics)
    run.out.versions.update(stage.versions)
    run.out.warnings.extend(stage.warnings)


def _finish_metrics(run: _Run) -> None:
    metrics = run.out.metrics
    total = time.monotonic() - run.started
    metrics["processing_time_seconds"] = round(total, 3)
    duration = metrics.get("input_duration_seconds")
    metrics["rtf"] = round(total / duration, 4) if duration else None
    if Feature.RAW_TRANSCRIPT.value not in run.task.request.features and run.task.kind == TaskKind.TEXT:
        run.out.results.pop("raw_transcript", None)
