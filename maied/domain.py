"""Plain data that crosses boundaries (API <-> store <-> worker <-> pipeline)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal, get_args

SAMPLE_RATE = 16000
"""The audio every stage works on: mono float32 at this rate (Hz)."""


ASRBackendName = Literal["whisper", "chunkformer"]
ASR_BACKENDS: tuple[str, ...] = get_args(ASRBackendName)
"""The ASR backends maied has (a task's asr_backend, ASR_BACKEND)."""


class TaskStatus(StrEnum):
    PENDING = "PENDING"
    PREPROCESSING = "PREPROCESSING"
    PROCESSING_ASR = "PROCESSING_ASR"
    PROCESSING_LLM = "PROCESSING_LLM"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({TaskStatus.COMPLETE, TaskStatus.FAILED, TaskStatus.CANCELLED})
RUNNING_STATUSES = frozenset({TaskStatus.PREPROCESSING, TaskStatus.PROCESSING_ASR, TaskStatus.PROCESSING_LLM})
"""The statuses of a task the worker is running."""
STAGE_WAITING_FOR_LLM = "WAITING_FOR_LLM"
"""The stage of a task whose ASR is done and stored while the worker runs other tasks' ASR before it
switches to the LLM (models that do not fit on the GPU together). Its status stays PROCESSING_ASR."""


class Feature(StrEnum):
    RAW_TRANSCRIPT = "raw_transcript"
    CLEAN_TRANSCRIPT = "clean_transcript"
    SUMMARY = "summary"
    ENHANCEMENT_METRICS = "enhancement_metrics"


LLM_FEATURES = frozenset({Feature.CLEAN_TRANSCRIPT, Feature.SUMMARY, Feature.ENHANCEMENT_METRICS})


class TaskKind(StrEnum):
    AUDIO = "audio"
    TEXT = "text"


@dataclass
class TaskRequest:
    """What a task was asked to do: the validated form fields of POST /v1/process (or process_text)."""

    features: list[str] = field(default_factory=lambda: [Feature.RAW_TRANSCRIPT.value])
    template_id: str | None = None
    asr_backend: str | None = None
    language: str | None = None
    enable_vad: bool | None = None
    vad_threshold: float | None = None
    enable_diarization: bool = False
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    vocabulary: list[str] = field(default_factory=list)
    filename: str | None = None
    task: str = "transcribe"
    """Whisper's task: `transcribe`, or `translate` (into English; OpenAI's /v1/audio/translations)."""
    prompt: str | None = None
    """Text that conditions recognition (Whisper's initial prompt: spelling, style, names)."""
    temperature: float | None = None
    """Sampling temperature; None or 0 = the backend's default (Whisper: 0.0, no fallback ladder, measured in
    docs/benchmarks.md)."""
    segment_detail: bool = False
    """Keep Whisper's per-segment decoding detail (seek, tokens, temperature, compression ratio,
    no-speech probability) in the results (OpenAI's verbose_json answers it)."""
    source_task_id: str | None = None
    """POST /v1/tasks/{id}/summarize: the task whose stored transcript this text task summarises."""

    def wants_llm(self) -> bool:
        return any(f in LLM_FEATURES for f in self.features)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskRequest:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class Span:
    """Seconds [start, end) of a recording (a speech region, a piece of one)."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Word:
    start: float
    end: float
    word: str
    probability: float
    speaker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end, "word": self.word,
                               "probability": self.probability}
        if self.speaker is not None:
            out["speaker"] = self.speaker
        return out


@dataclass
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] | None = None
    avg_logprob: float | None = None
    detail: dict[str, Any] | None = None
    """The decoder's own record of the segment (seek, tokens, temperature, compression_ratio,
    no_speech_prob), kept only where a task asks for it (TaskRequest.segment_detail)."""
    speaker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": round(self.start, 3), "end": round(self.end, 3), "text": self.text}
        if self.speaker is not None:
            out["speaker"] = self.speaker
        if self.words is not None:
            out["words"] = [w.to_dict() for w in self.words]
        if self.detail is not None:
            out["avg_logprob"] = self.avg_logprob
            out.update(self.detail)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        """A segment as `to_dict` wrote it (results stored as JSON)."""
        words = None
        if data.get("words") is not None:
            words = [Word(float(w["start"]), float(w["end"]), str(w["word"]), float(w.get("probability") or 0.0),
                          w.get("speaker")) for w in data["words"]]
        return cls(float(data["start"]), float(data["end"]), str(data.get("text", "")), words,
                   speaker=data.get("speaker"))


@dataclass
class TaskWarning:
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass
class PipelineOutput:
    """What the pipeline returns for one task; the worker records it in the store."""

    results: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    warnings: list[TaskWarning] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "results": self.results,
            "metrics": self.metrics,
            "versions": self.versions,
            "warnings": [w.to_dict() for w in self.warnings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineOutput:
        return cls(
            results=dict(data.get("results") or {}),
            metrics=dict(data.get("metrics") or {}),
            versions=dict(data.get("versions") or {}),
            warnings=[TaskWarning(**w) for w in data.get("warnings") or []],
        )


ModelKind = Literal["asr", "llm"]
LoadedKind = Literal["asr", "llm", "diarization"]
"""What a model load is counted as (maie_model_loads_total{kind}); diarization loads in the ASR part."""
"""The two kinds of model the worker child takes turns with (diarization loads beside ASR, in its part)."""
Part = Literal["all", "asr", "llm"]
"""all: the whole pipeline; asr: stop after ASR and hand back the ASR part; llm: go on from the ASR part."""


@dataclass
class AsrPart:
    """The ASR half of a task run in two parts (the ASR and LLM models do not fit on the GPU together): what
    the LLM part needs to go on later, in another worker child. Stored as JSON in the task's row."""

    output: PipelineOutput
    text: str = ""
    asr_punctuates: bool = True
    elapsed: float = 0.0
    """Seconds the ASR part took: the task's processing time and time limit count both parts."""

    def to_dict(self) -> dict[str, Any]:
        return {"output": self.output.to_dict(), "text": self.text, "asr_punctuates": self.asr_punctuates,
                "elapsed": self.elapsed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AsrPart:
        return cls(output=PipelineOutput.from_dict(data.get("output") or {}), text=str(data.get("text") or ""),
                   asr_punctuates=bool(data.get("asr_punctuates", True)),
                   elapsed=float(data.get("elapsed") or 0.0))


@dataclass
class TaskInput:
    """What the worker child needs to run one task (the audio stays on disk)."""

    id: str
    kind: TaskKind
    request: TaskRequest
    audio_path: str | None = None
    input_text: str | None = None
    phase: Part = "all"
    asr_output: AsrPart | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind.value, "request": self.request.to_dict(),
                "audio_path": self.audio_path, "input_text": self.input_text, "phase": self.phase,
                "asr_output": None if self.asr_output is None else self.asr_output.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskInput:
        part = data.get("asr_output")
        return cls(
            id=data["id"],
            kind=TaskKind(data["kind"]),
            request=TaskRequest.from_dict(data["request"]),
            audio_path=data.get("audio_path"),
            input_text=data.get("input_text"),
            phase=data.get("phase") or "all",
            asr_output=None if part is None else AsrPart.from_dict(part),
        )


def speaker_turns(segments: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(speaker, text) turns of diarized segments (as `Segment.to_dict` writes them): consecutive segments
    of one speaker joined; [] when the segments carry no speakers."""
    turns: list[tuple[str, str]] = []
    for segment in segments:
        speaker, text = segment.get("speaker"), str(segment.get("text", "")).strip()
        if not speaker or not text:
            continue
        if turns and turns[-1][0] == speaker:
            turns[-1] = (speaker, f"{turns[-1][1]} {text}")
        else:
            turns.append((speaker, text))
    return turns


def speaker_turns_text(segments: list[dict[str, Any]]) -> str:
    """`SPEAKER_1: …` one turn a line; '' when the segments carry no speakers."""
    return "\n".join(f"{speaker}: {text}" for speaker, text in speaker_turns(segments))
