"""The worker messages: every kind goes over the wire and comes back equal; anything else is a ValueError."""

from __future__ import annotations

import pytest

from maied.domain import AsrPart, PipelineOutput, TaskInput, TaskKind, TaskRequest, TaskWarning
from maied.worker.protocol import (
    AsrDone,
    AsrKept,
    Done,
    Failed,
    Init,
    Message,
    ModelLoad,
    Ping,
    Pong,
    Progress,
    Ready,
    Run,
    StageReached,
    decode,
    encode,
)

OUTPUT = PipelineOutput(results={"raw_transcript": "xin chào"}, metrics={"rtf": 0.1},
                        versions={"pipeline_version": "1"}, warnings=[TaskWarning("NO_SPEECH", "none")])
PART = AsrPart(OUTPUT, "xin chào", asr_punctuates=False, elapsed=1.5)
TASK = TaskInput("t1", TaskKind.AUDIO, TaskRequest(features=["summary"], template_id="meeting-notes"),
                 audio_path="/a/t1/original-a.wav", phase="llm", asr_output=PART)


@pytest.mark.parametrize("message", [
    Init({"JOB_TIMEOUT": 5}), Run(TASK), Ping(3), Ready(42), Pong(3), Pong(None),
    StageReached("t1", "PROCESSING_ASR", 9.5), StageReached("t1", "PROCESSING_LLM"), Progress("t1", 60.0),
    ModelLoad("llm", "('SmolLM2',)", 0.4), Done("t1", OUTPUT), AsrDone("t1", PART), AsrKept("t1", PART),
    Failed("t1", "AUDIO_TOO_SHORT", "0.2 s of audio", "PREPROCESSING"),
])
def test_every_message_round_trips(message: Message) -> None:
    line = encode(message)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode(line) == message


@pytest.mark.parametrize("line", [b"[]", b"{}", b'{"type": "nope"}', b'{"type": "ping"}', b"not json"])
def test_anything_else_is_refused(line: bytes) -> None:
    with pytest.raises(ValueError, match="not a worker message"):
        decode(line)


def test_a_task_without_its_asr_part_round_trips() -> None:
    task = TaskInput("t2", TaskKind.TEXT, TaskRequest(), input_text="hello")
    assert TaskInput.from_dict(task.to_dict()) == task
