"""The faster-whisper (CTranslate2) backend: no torch anywhere on this path (VAD is faster-whisper's ONNX)."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from maied.asr.base import ASROptions, ASRResult, duration_weighted_confidence, no_speech_warning
from maied.asr.batched import transcribe_batched
from maied.asr.checkpoint import checkpoint_sha256
from maied.asr.hallucination import Candidate, filter_hallucinations
from maied.asr.language import LanguageChoice, choose_language
from maied.asr.recut import CutRules, recut_segments
from maied.asr.whisper_weights import WEIGHTS_FILE, prepare_whisper_model
from maied.domain import SAMPLE_RATE, Segment, Span, Word
from maied.errors import ASRProcessingError, MissingExtra, ModelMemoryError, ModelNotFound
from maied.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_VAD_THRESHOLD = 0.5
# Sequential decoding defaults, chosen by measurement (python -m bench.decoding_defaults, docs/benchmarks.md):
# Whisper's fallback ladder (0.0, 0.2 ... 1.0) gave the same WER on every clip (English, Vietnamese, pauses of
# 0.3-3 s, pink noise) and cost 1.6x the time overall, 4x on short sentences repeated with 1.5 s pauses, where
# it re-decoded 13 windows; VAD min silence 500 ms and condition_on_previous_text=False bought nothing
# consistent. Loops a single temperature can fall into are what maied.asr.hallucination removes.
VAD_MIN_SILENCE_MS = 1000
TEMPERATURES = (0.0,)
CONDITION_ON_PREVIOUS_TEXT = True
BATCHED_VAD_MIN_SILENCE_MS = 1000
"""The batched path's VAD silence (faster-whisper's batched default is 160 ms): 1000 ms gave the lowest WER of
160/500/1000 on the varied clips at the same speed (bench.decoding_defaults); lines are cut again at word
times (maied.asr.recut) whatever the chunks."""
BATCHED_CHUNK_SECONDS = 30
AUTO_BATCH_SIZE = {"cuda": 8, "cpu": 8}
CUT_RULES = CutRules()


def import_faster_whisper() -> Any:
    try:
        import faster_whisper
    except ImportError as exc:
        raise MissingExtra("faster-whisper", "whisper", import_error=str(exc)) from None
    return faster_whisper


def supported_languages() -> frozenset[str]:
    """Language codes Whisper accepts (for validating a task's `language` before queueing it)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return frozenset(_LANGUAGE_CODES)


def resolve_device(setting: str) -> str:
    """`auto` -> cuda when CTranslate2 sees a CUDA device, else cpu."""
    if setting != "auto":
        return setting
    import ctranslate2

    try:
        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # a broken CUDA driver must not stop the CPU path
        return "cpu"


def resolve_compute_type(setting: str, device: str) -> str:
    if setting and setting != "auto":
        return setting
    return "float16" if device == "cuda" else "int8"


class WhisperBackend:
    name = "whisper"
    own_vad = True

    def __init__(self, model: Any, model_dir: Path, variant: str, device: str, compute_type: str,
                 batch_size: int = 0):
        self._model = model
        self.batch_size = batch_size
        self._batched: Any = None
        self.punctuates = True  # Whisper writes punctuation and capitals (WHISPER_PUNCTUATES=false says otherwise)
        self.model_dir = model_dir
        self.variant = variant
        self.device = device
        self.compute_type = compute_type
        self._checkpoint_hash: str | None = None
        self.load_seconds = 0.0

    @classmethod
    def load(cls, settings: Settings) -> WhisperBackend:
        """Find (or place) the configured model and load it now."""
        faster_whisper = import_faster_whisper()
        model_dir = prepare_whisper_model(settings)
        device = resolve_device(settings.WHISPER_DEVICE)
        compute_type = resolve_compute_type(settings.WHISPER_COMPUTE_TYPE, device)
        started = time.perf_counter()
        try:
            model = faster_whisper.WhisperModel(
                str(model_dir), device=device, compute_type=compute_type, cpu_threads=os.cpu_count() or 0
            )
        except MemoryError as exc:
            raise ModelMemoryError(
                f"not enough memory to load the Whisper model {model_dir}: {exc}"
            ) from None
        except (RuntimeError, ValueError, OSError) as exc:
            raise _load_error(exc, model_dir) from None
        batch = settings.WHISPER_BATCH_SIZE
        batch = AUTO_BATCH_SIZE.get(device, 0) if batch < 0 else batch  # auto: batched (see WHISPER_BATCH_SIZE)
        backend = cls(model, model_dir, settings.WHISPER_MODEL_VARIANT, device, compute_type, batch)
        backend.punctuates = settings.WHISPER_PUNCTUATES is not False  # Whisper does, unless a fine-tune does not
        backend.load_seconds = round(time.perf_counter() - started, 3)
        log.info(
            "loaded Whisper %s on %s/%s in %.2f s", model_dir, device, compute_type, backend.load_seconds
        )
        return backend

    @property
    def checkpoint_hash(self) -> str:
        if self._checkpoint_hash is None:
            self._checkpoint_hash = checkpoint_sha256(self.model_dir / WEIGHTS_FILE)
        return self._checkpoint_hash

    @property
    def embedded(self) -> bool:
        return not self.variant

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": str(self.model_dir),
            "variant": self.variant or "embedded",
            "model_name": "Whisper base" if not self.variant else self.variant,
            "checkpoint_hash": self.checkpoint_hash,
            "compute_type": self.compute_type,
            "device": self.device,
            "decoding": self._decoding(),
        }

    def _decoding(self) -> dict[str, Any]:
        """The decoding defaults in force (a task with VAD off is decoded sequentially)."""
        common = {"vad": "faster-whisper silero onnx", "hallucination_filter": True, "batch_size": self.batch_size,
                  "recut": {"max_seconds": CUT_RULES.max_seconds, "max_chars": CUT_RULES.max_chars,
                            "pause_seconds": CUT_RULES.pause_seconds}}
        if self.batch_size > 0:
            return {"mode": "batched", "temperature": [TEMPERATURES[0]], "condition_on_previous_text": False,
                    "vad_min_silence_ms": BATCHED_VAD_MIN_SILENCE_MS, **common}
        return {"mode": "sequential", "temperature": list(TEMPERATURES),
                "condition_on_previous_text": CONDITION_ON_PREVIOUS_TEXT, "vad_min_silence_ms": VAD_MIN_SILENCE_MS,
                **common}

    def transcribe(self, audio: np.ndarray, options: ASROptions) -> ASRResult:
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        seconds = audio.shape[0] / SAMPLE_RATE
        started = time.perf_counter()
        choice = self._choose_language(audio, options)
        if choice is not None:  # decoded once, in the chosen language
            options = dataclasses.replace(options, language=choice.language)
        candidates, info = self._decode(audio, options)
        elapsed = time.perf_counter() - started
        report = filter_hallucinations(candidates)
        # Sorted again: a batched segment decoded from tails of two chunks is cut in two far apart.
        segments = sorted(recut_segments(report.segments, CUT_RULES), key=lambda s: s.start)
        if not options.word_timestamps:  # the batched path asks for word times to cut lines; not wanted here
            segments = [dataclasses.replace(s, words=None) for s in segments]
        warnings = [] if segments else [no_speech_warning(seconds)]
        fallback = choice.warning() if choice is not None else None
        if fallback is not None:
            warnings.append(fallback)
        return ASRResult(
            segments=segments,
            language=info.language,
            language_probability=_probability(choice, info),
            confidence_avg=duration_weighted_confidence(segments),
            warnings=warnings,
            metrics={
                **(choice.metrics() if choice is not None else {}),
                "asr_seconds": round(elapsed, 3),
                "asr_rtf": round(elapsed / seconds, 4) if seconds else None,
                "audio_seconds": round(seconds, 3),
                "vad_coverage": _vad_coverage(info, options),
                "segments_decoded": len(candidates),
                **({"asr_batches": info.batches, "asr_tail_seconds": info.tail_seconds} if info.batches else {}),
                **report.metrics(),
            },
        )

    def _choose_language(self, audio: np.ndarray, options: ASROptions) -> LanguageChoice | None:
        """With EXPECTED_LANGUAGES and no language given: detect it (on the speech, as transcribe() does)
        and hold it to the list; None otherwise (transcribe() detects as usual)."""
        if options.language or not options.expected_languages:
            return None
        vad = decode_kwargs(options).get("vad_parameters")
        try:
            try:
                _, _, probabilities = self._model.detect_language(audio=audio, vad_filter=options.enable_vad,
                                                                  vad_parameters=vad)
            except ValueError:  # the VAD found no speech at all: detect on the whole audio
                _, _, probabilities = self._model.detect_language(audio=audio)
        except MemoryError as exc:
            raise ModelMemoryError(f"out of memory during language detection: {exc}") from None
        except RuntimeError as exc:
            raise ASRProcessingError(f"Whisper language detection failed: {exc}") from None
        return choose_language([(str(c), float(p)) for c, p in probabilities], options.expected_languages)

    def _decode(self, audio: np.ndarray, options: ASROptions) -> tuple[list[Candidate], DecodeInfo]:
        """Run the model; faster-whisper decodes lazily, so the segments are consumed here."""
        try:
            if self.batch_size > 0 and options.enable_vad:  # the batched pipeline needs VAD to cut chunks
                return self._decode_batched(audio, options)
            segments, info = self._model.transcribe(audio, **decode_kwargs(options))
            candidates = [_candidate(s, options.segment_detail) for s in segments]
        except MemoryError as exc:
            raise ModelMemoryError(f"out of memory during transcription: {exc}") from None
        except (RuntimeError, ValueError) as exc:
            if "out of memory" in str(exc).lower():
                raise ModelMemoryError(f"out of memory during transcription: {exc}") from None
            raise ASRProcessingError(f"Whisper transcription failed: {exc}") from None
        return candidates, DecodeInfo(info.language, float(info.language_probability), float(info.duration),
                                      float(info.duration_after_vad))

    def _decode_batched(self, audio: np.ndarray, options: ASROptions) -> tuple[list[Candidate], DecodeInfo]:
        """The VAD's speech decoded in batches, chunk tails again (maied.asr.batched)."""
        from faster_whisper.vad import get_speech_timestamps

        if self._batched is None:
            self._batched = import_faster_whisper().BatchedInferencePipeline(model=self._model)
        stamps = get_speech_timestamps(audio, batched_vad_options(options))
        speech = [Span(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in stamps]
        decoded = transcribe_batched(self._batched, audio, speech, batched_kwargs(options),
                                     lambda s: _candidate(s, options.segment_detail), self.batch_size)
        seconds = audio.shape[0] / SAMPLE_RATE
        return decoded.candidates, DecodeInfo(decoded.language, decoded.language_probability, seconds,
                                              sum(s.seconds for s in speech), decoded.batches,
                                              round(decoded.tail_seconds, 3))


@dataclass(frozen=True)
class DecodeInfo:
    """What a decode says beside its segments."""

    language: str | None
    """None: not given and nothing to detect it on (no speech)."""
    language_probability: float | None
    duration: float
    duration_after_vad: float
    batches: int = 0
    """Batched calls (0: decoded sequentially)."""
    tail_seconds: float = 0.0
    """Seconds of speech decoded again after a chunk stopped early (maied.asr.batched)."""


def batched_kwargs(options: ASROptions) -> dict[str, Any]:
    """BatchedInferencePipeline.transcribe() decoding arguments (maied.asr.batched adds the chunks): one decode
    per chunk at the first temperature (the pipeline has no fallback), word times always (lines are re-cut at
    them), and timestamp tokens on: without them (the pipeline's default) the model ends a 30 s chunk of short
    sentences after its first sentence (bench.decoding_defaults: WER 95 % on `en-short`)."""
    kwargs = decode_kwargs(options)
    for key in ("vad_filter", "vad_parameters"):  # maied.asr.batched is given the speech, not the pipeline
        kwargs.pop(key, None)
    kwargs.update(word_timestamps=True, temperature=kwargs["temperature"][:1], condition_on_previous_text=False,
                  without_timestamps=False)
    return kwargs


def batched_vad_options(options: ASROptions) -> Any:
    """The VAD that finds the speech the batched path decodes: speech regions of at most one 30 s window."""
    from faster_whisper.vad import VadOptions

    threshold = options.vad_threshold if options.vad_threshold is not None else DEFAULT_VAD_THRESHOLD
    return VadOptions(threshold=threshold, min_silence_duration_ms=BATCHED_VAD_MIN_SILENCE_MS,
                      max_speech_duration_s=BATCHED_CHUNK_SECONDS)


def decode_kwargs(options: ASROptions) -> dict[str, Any]:
    """faster-whisper's transcribe() arguments for these options."""
    kwargs: dict[str, Any] = {
        "language": options.language or None,
        "beam_size": options.beam_size,
        "word_timestamps": options.word_timestamps,
        "temperature": temperatures(options.temperature),
        "condition_on_previous_text": CONDITION_ON_PREVIOUS_TEXT,
        "vad_filter": options.enable_vad,
        "task": options.task or "transcribe",
    }
    if options.prompt:
        kwargs["initial_prompt"] = options.prompt
    terms = [t.strip() for t in options.vocabulary if t.strip()]
    if terms:
        kwargs["hotwords"] = ", ".join(terms)
    if options.enable_vad:
        from faster_whisper.vad import VadOptions

        threshold = options.vad_threshold if options.vad_threshold is not None else DEFAULT_VAD_THRESHOLD
        kwargs["vad_parameters"] = VadOptions(threshold=threshold, min_silence_duration_ms=VAD_MIN_SILENCE_MS)
    return kwargs


def temperatures(chosen: float | None) -> list[float]:
    """A chosen temperature above 0 is used alone; none (or 0) gives the default schedule, TEMPERATURES."""
    if chosen is None or chosen <= 0:
        return list(TEMPERATURES)
    return [float(chosen)]


def _detail(seg: Any) -> dict[str, Any]:
    return {"seek": int(seg.seek), "tokens": [int(t) for t in seg.tokens],
            "temperature": None if seg.temperature is None else float(seg.temperature),
            "compression_ratio": round(float(seg.compression_ratio), 4),
            "no_speech_prob": round(float(seg.no_speech_prob), 4)}


def _candidate(seg: Any, detail: bool = False) -> Candidate:
    words = None
    if seg.words is not None:
        words = [
            Word(float(w.start), float(w.end), w.word, round(float(w.probability), 4)) for w in seg.words
        ]
    segment = Segment(
        start=float(seg.start),
        end=float(seg.end),
        text=seg.text.strip(),
        words=words,
        avg_logprob=float(seg.avg_logprob),
        detail=_detail(seg) if detail else None,
    )
    return Candidate(segment, no_speech_prob=float(seg.no_speech_prob))


def _probability(choice: LanguageChoice | None, info: DecodeInfo) -> float | None:
    if choice is not None:
        return round(float(choice.probability), 4)
    return None if info.language_probability is None else round(float(info.language_probability), 4)


def _vad_coverage(info: DecodeInfo, options: ASROptions) -> float | None:
    if not options.enable_vad or not info.duration:
        return None
    return round(float(info.duration_after_vad) / float(info.duration), 4)


def _load_error(exc: Exception, model_dir: Path) -> Exception:
    text = str(exc)
    if "out of memory" in text.lower():
        return ModelMemoryError(f"not enough memory to load the Whisper model {model_dir}: {text}")
    return ModelNotFound(
        f"the Whisper model at {model_dir} could not be loaded ({text}); check the folder holds a "
        f"CTranslate2 Whisper model (model.bin, config.json, tokenizer.json)",
        details={"path": str(model_dir)},
    )
