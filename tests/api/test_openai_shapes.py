"""OpenAI's audio API shapes built from stored results, its form fields, its error shape, Bearer keys."""

from __future__ import annotations

import json

import pytest

from maied.api.access import bearer_token
from maied.api.openai_format import Answer, error_body, render, stream_events
from maied.api.openai_request import parse_audio_form
from maied.errors import InvalidRequest
from maied.model_inventory import accepted_asr_models, asr_backend_for_model
from maied.settings import Settings

RESULTS = {
    "raw_transcript": "Hello there. General Kenobi.",
    "language": "en",
    "segments": [
        {"start": 0.0, "end": 1.2, "text": "Hello there.", "avg_logprob": -0.2, "seek": 0, "tokens": [1, 2],
         "temperature": 0.0, "compression_ratio": 0.9, "no_speech_prob": 0.01,
         "words": [{"start": 0.0, "end": 0.5, "word": " Hello", "probability": 0.9},
                   {"start": 0.5, "end": 1.2, "word": " there.", "probability": 0.8}]},
        {"start": 1.5, "end": 2.9, "text": "General Kenobi."},  # no decoding detail (e.g. ChunkFormer)
    ],
}


def test_verbose_json_has_openais_fields_with_segments_and_words() -> None:
    body, ctype = render(Answer("verbose_json", ["word", "segment"]), RESULTS, 2.95)
    doc = json.loads(body)
    assert ctype == "application/json"
    assert {k: doc[k] for k in ("task", "language", "duration", "text")} == {
        "task": "transcribe", "language": "english", "duration": 2.95, "text": "Hello there. General Kenobi."}
    assert doc["usage"] == {"type": "duration", "seconds": 3}
    first, second = doc["segments"]
    assert set(first) == {"id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob",
                          "compression_ratio", "no_speech_prob"}
    assert (first["id"], first["tokens"], first["text"]) == (0, [1, 2], " Hello there.")
    assert (second["id"], second["seek"], second["tokens"]) == (1, 150, [])
    assert second["compression_ratio"] > 0
    assert doc["words"][:2] == [{"word": "Hello", "start": 0.0, "end": 0.5}, {"word": "there.", "start": 0.5, "end": 1.2}]
    assert [w["word"] for w in doc["words"][2:]] == ["General", "Kenobi."]  # spread over the segment


def test_granularities_choose_what_verbose_json_carries() -> None:
    words_only = json.loads(render(Answer("verbose_json", ["word"]), RESULTS, 3.0)[0])
    assert "words" in words_only and "segments" not in words_only
    default = json.loads(render(Answer("verbose_json"), RESULTS, 3.0)[0])
    assert "segments" in default and "words" not in default


@pytest.mark.parametrize("fmt,start", [("text", "Hello there."), ("srt", "1\n00:00:00,000 --> "),
                                       ("vtt", "WEBVTT\n\n00:00:00.000 --> ")])
def test_text_formats_are_text_plain(fmt: str, start: str) -> None:
    body, ctype = render(Answer(fmt), RESULTS, 3.0)
    assert ctype == "text/plain" and body.startswith(start)


def test_json_and_stream_events() -> None:
    assert json.loads(render(Answer(), RESULTS, 3.0)[0])["text"] == "Hello there. General Kenobi."
    events = stream_events(RESULTS, 3.0)
    assert [e["type"] for e in events] == ["transcript.text.delta"] * 2 + ["transcript.text.done"]
    assert "".join(e["delta"] for e in events[:2]) == events[-1]["text"]


def test_error_shape() -> None:
    assert error_body(429, "QUEUE_FULL", "full") == {
        "error": {"message": "full", "type": "rate_limit_error", "param": None, "code": "QUEUE_FULL"}}
    assert error_body(401, "UNAUTHORIZED", "no")["error"]["type"] == "authentication_error"
    assert error_body(400, "INVALID_REQUEST", "x", "language")["error"]["param"] == "language"


def _parse(fields: dict[str, list[str]], translate: bool = False, **settings: str):  # type: ignore[no-untyped-def]
    return parse_audio_form(fields, Settings(**settings), translate=translate, filename="a.wav")  # type: ignore[arg-type]


def test_form_fields_become_a_task_request() -> None:
    request, answer = _parse({"model": ["whisper-1"], "language": ["en"], "prompt": ["Kenobi, Skywalker"],
                              "temperature": ["0.4"], "response_format": ["verbose_json"],
                              "timestamp_granularities[]": ["word", "segment"], "stream": ["false"]})
    assert (request.asr_backend, request.language, request.prompt, request.temperature) == ("whisper", "en",
                                                                                            "Kenobi, Skywalker", 0.4)
    assert request.task == "transcribe" and request.segment_detail
    assert (answer.response_format, answer.granularities, answer.stream) == ("verbose_json", ["word", "segment"], False)
    translated, answer = _parse({"model": ["whisper"]}, translate=True)
    assert translated.task == "translate" and answer.task == "translate"


@pytest.mark.parametrize("fields,param,code", [
    ({"response_format": ["yaml"]}, "response_format", "INVALID_REQUEST"),
    ({"timestamp_granularities[]": ["word"]}, "timestamp_granularities[]", "INVALID_REQUEST"),
    ({"response_format": ["verbose_json"], "timestamp_granularities[]": ["char"]}, "timestamp_granularities[]",
     "INVALID_REQUEST"),
    ({"temperature": ["1.5"]}, "temperature", "INVALID_REQUEST"),
    ({"language": ["english!"]}, "language", "INVALID_REQUEST"),
    ({"chunking_strategy": ["auto"]}, "chunking_strategy", "INVALID_REQUEST"),
])
def test_bad_fields_are_400_naming_the_field(fields: dict[str, list[str]], param: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        _parse(fields)
    assert caught.value.status == 400 and caught.value.details["param"] == param and caught.value.code == code


def test_translation_takes_no_language_and_no_chunkformer() -> None:
    with pytest.raises(InvalidRequest, match="unrecognized"):
        _parse({"language": ["vi"]}, translate=True)
    with pytest.raises(InvalidRequest, match="cannot translate"):
        _parse({"model": ["chunkformer"]}, translate=True)


def test_model_names_map_to_backends() -> None:
    settings = Settings(ASR_BACKEND="chunkformer", WHISPER_MODEL_VARIANT="erax-wow-turbo")  # type: ignore[call-arg]
    assert asr_backend_for_model("whisper-1", settings) == "chunkformer"
    assert asr_backend_for_model("gpt-4o-transcribe", settings) == "chunkformer"
    assert asr_backend_for_model(None, settings) == "chunkformer"
    assert asr_backend_for_model("whisper", settings) == "whisper"
    assert asr_backend_for_model("erax-wow-turbo", settings) == "whisper"
    assert asr_backend_for_model("khanhld/chunkformer-rnnt-large-vie", settings) == "chunkformer"
    asr = [{"backend": "whisper", "model": "embedded-whisper-base", "installed": True, "default": True},
           {"backend": "chunkformer", "model": "x/y", "installed": False, "default": False}]
    assert accepted_asr_models(asr) == {"whisper-1": "whisper", "whisper": "whisper",
                                        "embedded-whisper-base": "whisper"}


@pytest.mark.parametrize("header,key", [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None),
                                        ("Bearer", None), (None, None), ("", None)])
def test_bearer_token(header: str | None, key: str | None) -> None:
    assert bearer_token(header) == key


def test_diarized_json_asks_for_speakers_and_answers_openais_shape() -> None:
    request, answer = _parse({"response_format": ["diarized_json"]})
    assert request.enable_diarization and answer.response_format == "diarized_json"
    results = {"raw_transcript": "Hello. Hi there.", "segments": [
        {"start": 0.0, "end": 1.2, "text": " Hello.", "speaker": "SPEAKER_1"},
        {"start": 1.5, "end": 2.5, "text": " Hi there.", "speaker": "SPEAKER_2"}]}
    body, kind = render(answer, results, 2.5)
    data = json.loads(body)
    assert kind == "application/json" and data["text"] == "Hello. Hi there." and data["usage"]["seconds"] == 3
    assert [(s["type"], s["id"], s["speaker"], s["text"]) for s in data["segments"]] == [
        ("transcript.text.segment", "seg_0", "SPEAKER_1", "Hello."), ("transcript.text.segment", "seg_1", "SPEAKER_2", "Hi there.")]
