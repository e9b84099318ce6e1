"""Messages between the supervisor and the worker child: one JSON object a line over pipes.

supervisor -> child: Init, Run, Ping
child -> supervisor: Ready, Pong, StageReached, Progress (long recordings), ModelLoad, Done, AsrDone (the ASR
part of a task run in two parts), AsrKept (the ASR part of a task run whole, kept before its LLM stage runs),
Failed

Each message is a dataclass; `encode` and `decode` are the only places that know the wire form
(`{"type": ..., **fields}`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from maied.domain import AsrPart, LoadedKind, ModelKind, Part, PipelineOutput, TaskInput

__all__ = ["AsrDone", "AsrKept", "Done", "Failed", "Init", "Message", "ModelKind", "ModelLoad", "Part", "Ping", "Pong",
           "Progress", "Ready", "Run", "StageReached", "TaskInput", "decode", "encode"]


@dataclass(frozen=True)
class Init:
    """The child's settings (Settings.model_dump(mode="json"))."""

    TYPE: ClassVar[str] = "init"
    settings: dict[str, Any]


@dataclass(frozen=True)
class Run:
    TYPE: ClassVar[str] = "run"
    task: TaskInput


@dataclass(frozen=True)
class Ping:
    TYPE: ClassVar[str] = "ping"
    n: int


@dataclass(frozen=True)
class Ready:
    TYPE: ClassVar[str] = "ready"
    pid: int


@dataclass(frozen=True)
class Pong:
    TYPE: ClassVar[str] = "pong"
    n: int | None


@dataclass(frozen=True)
class StageReached:
    TYPE: ClassVar[str] = "stage"
    task_id: str
    status: str
    input_duration: float | None = None


@dataclass(frozen=True)
class Progress:
    """Seconds of a long recording transcribed so far."""

    TYPE: ClassVar[str] = "progress"
    task_id: str
    audio_seconds: float


@dataclass(frozen=True)
class ModelLoad:
    TYPE: ClassVar[str] = "model_load"
    kind: LoadedKind
    name: str
    seconds: float


@dataclass(frozen=True)
class Done:
    TYPE: ClassVar[str] = "done"
    task_id: str
    output: PipelineOutput


@dataclass(frozen=True)
class AsrDone:
    TYPE: ClassVar[str] = "asr_done"
    task_id: str
    part: AsrPart


@dataclass(frozen=True)
class AsrKept:
    """The ASR part of a task run whole, sent as soon as its ASR ends and before its LLM stage runs, so that
    the supervisor stores the transcript even if that stage fails or the child dies in it."""

    TYPE: ClassVar[str] = "asr_part"
    task_id: str
    part: AsrPart


@dataclass(frozen=True)
class Failed:
    TYPE: ClassVar[str] = "failed"
    task_id: str
    code: str
    message: str
    stage: str | None = None


Message = (Init | Run | Ping | Ready | Pong | StageReached | Progress | ModelLoad | Done | AsrDone | AsrKept
           | Failed)
_BY_TYPE: dict[str, type[Any]] = {cls.TYPE: cls for cls in (Init, Run, Ping, Ready, Pong, StageReached, Progress,
                                                              ModelLoad, Done, AsrDone, AsrKept, Failed)}
_NESTED: dict[str, Any] = {"task": TaskInput, "output": PipelineOutput, "part": AsrPart}
"""Fields that hold a dataclass with to_dict/from_dict of its own."""


def encode(message: Message) -> bytes:
    data: dict[str, Any] = {"type": message.TYPE}
    for f in dataclasses.fields(message):
        value = getattr(message, f.name)
        data[f.name] = value.to_dict() if f.name in _NESTED else value
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def decode(line: bytes) -> Message:
    """One line back into its message; ValueError for anything else."""
    try:
        data = json.loads(line)
        cls = _BY_TYPE[data.pop("type")]
        values = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        for name, nested in _NESTED.items():
            if name in values:
                values[name] = nested.from_dict(values[name])
        message: Message = cls(**values)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a worker message: {line[:200]!r}") from exc
    return message
