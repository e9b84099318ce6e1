"""Messages between the supervisor and the worker child: one JSON object a line over pipes.

supervisor -> child: init {settings}, run {task}, ping {n}
child -> supervisor: ready {pid}, pong {n}, stage {task_id, status, input_duration}, model_load {kind, name,
seconds}, progress {task_id, audio_seconds} (long recordings), done {task_id, output}, asr_done {task_id, asr_output} (the ASR part of a task run in parts),
asr_part {task_id, asr_output} (the ASR part of a task run whole, kept before its LLM stage runs),
failed {task_id, code, message, stage}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from maied.domain import TaskKind, TaskRequest

Part = Literal["all", "asr", "llm"]
"""all: the whole pipeline; asr: stop after ASR and hand back the ASR part; llm: go on from asr_output."""


@dataclass
class TaskInput:
    """What the child needs to run one task (the audio stays on disk)."""

    id: str
    kind: TaskKind
    request: TaskRequest
    audio_path: str | None = None
    input_text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    phase: Part = "all"
    asr_output: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskInput:
        return cls(
            id=data["id"],
            kind=TaskKind(data["kind"]),
            request=TaskRequest.from_dict(data["request"]),
            audio_path=data.get("audio_path"),
            input_text=data.get("input_text"),
            extra=data.get("extra") or {},
            phase=data.get("phase") or "all",
            asr_output=data.get("asr_output"),
        )


def encode(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def decode(line: bytes) -> dict[str, Any]:
    message = json.loads(line)
    if not isinstance(message, dict) or "type" not in message:
        raise ValueError(f"not a worker message: {line[:200]!r}")
    return message
