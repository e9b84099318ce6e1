"""A task's translate/prompt/temperature choices reach faster-whisper's transcribe() arguments."""

from __future__ import annotations

import pytest

from maied.asr.base import ASROptions
from maied.asr.whisper import TEMPERATURES, decode_kwargs
from maied.domain import Segment, TaskRequest
from maied.settings import Settings

pytest.importorskip("faster_whisper")


def test_translate_prompt_and_temperature_are_passed_on() -> None:
    request = TaskRequest(task="translate", prompt="Kenobi", temperature=0.3, segment_detail=True)
    options = ASROptions.for_task(request, Settings())  # type: ignore[call-arg]
    kwargs = decode_kwargs(options)
    assert (kwargs["task"], kwargs["initial_prompt"], kwargs["temperature"]) == ("translate", "Kenobi", [0.3])
    assert options.task_choices() == {"task": "translate", "temperature": [0.3], "initial_prompt": "Kenobi"}


def test_defaults_keep_the_transcribe_task_and_the_default_temperature() -> None:
    kwargs = decode_kwargs(ASROptions.for_task(TaskRequest(temperature=0.0), Settings()))  # type: ignore[call-arg]
    assert kwargs["task"] == "transcribe" and kwargs["temperature"] == list(TEMPERATURES)
    assert "initial_prompt" not in kwargs


def test_segment_detail_is_stored_only_when_asked() -> None:
    plain = Segment(0.0, 1.0, "hi", avg_logprob=-0.1)
    assert plain.to_dict() == {"start": 0.0, "end": 1.0, "text": "hi"}
    detailed = Segment(0.0, 1.0, "hi", avg_logprob=-0.1, detail={"seek": 0, "tokens": [5], "no_speech_prob": 0.1})
    assert detailed.to_dict() == {"start": 0.0, "end": 1.0, "text": "hi", "avg_logprob": -0.1, "seek": 0,
                                  "tokens": [5], "no_speech_prob": 0.1}


def test_batched_decoding_asks_for_timestamps_words_and_bounded_chunks() -> None:
    """Timestamp tokens on (without them Whisper ends a chunk of short sentences after the first), word times
    for re-cutting lines, one temperature (the pipeline has no fallback), VAD regions of at most 30 s, and no
    VAD of the pipeline's own (maied.asr.batched hands it the chunks)."""
    from maied.asr.whisper import batched_kwargs, batched_vad_options

    options = ASROptions.for_task(TaskRequest(temperature=0.3), Settings())  # type: ignore[call-arg]
    kwargs = batched_kwargs(options)
    assert (kwargs["without_timestamps"], kwargs["word_timestamps"]) == (False, True)
    assert kwargs["temperature"] == [0.3] and kwargs["condition_on_previous_text"] is False
    assert "vad_filter" not in kwargs and "vad_parameters" not in kwargs
    assert batched_vad_options(options).max_speech_duration_s == 30
