"""The OpenAPI description of OpenAI's audio routes (/v1/audio/transcriptions, /v1/audio/translations)."""

from __future__ import annotations

from typing import Any

from maied.api.openai_format import GRANULARITIES, RESPONSE_FORMATS

_FORMATS = {"type": "string", "enum": list(RESPONSE_FORMATS), "default": "json",
            "description": "diarized_json runs speaker diarization (422 FEATURE_UNAVAILABLE where it is not installed)"}


def _form(translate: bool) -> dict[str, Any]:
    props: dict[str, Any] = {
        "file": {"type": "string", "format": "binary"},
        "model": {"type": "string", "description": "whisper-1 or an unknown name: ASR_BACKEND; whisper, chunkformer "
                                                   "or a configured model name: that backend (GET /v1/models)"},
        "prompt": {"type": "string", "maxLength": 4000, "description": "Whisper's initial prompt"},
        "response_format": _FORMATS,
        "temperature": {"type": "number", "minimum": 0, "maximum": 1},
        "stream": {"type": "boolean", "description": "server-sent events transcript.text.delta / .done"},
    }
    if not translate:
        props["language"] = {"type": "string", "description": "ISO-639-1 code; empty = detect"}
        props["timestamp_granularities[]"] = {"type": "array", "items": {"type": "string",
                                                                         "enum": list(GRANULARITIES)}}
    return {"type": "object", "required": ["file"], "properties": props}


def _schemas() -> dict[str, Any]:
    segment = {"type": "object", "required": ["id", "start", "end", "text"], "properties": {
        "id": {"type": ["integer", "string"], "description": "an integer; `seg_N` in diarized_json"},
        "type": {"type": "string"}, "speaker": {"type": "string"}, "seek": {"type": "integer"},
        "start": {"type": "number"},
        "end": {"type": "number"}, "text": {"type": "string"},
        "tokens": {"type": "array", "items": {"type": "integer"}}, "temperature": {"type": "number"},
        "avg_logprob": {"type": "number"}, "compression_ratio": {"type": "number"},
        "no_speech_prob": {"type": "number"}}}
    word = {"type": "object", "required": ["word", "start", "end"], "properties": {
        "word": {"type": "string"}, "start": {"type": "number"}, "end": {"type": "number"}}}
    return {
        "OpenAIError": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["message", "type", "param", "code"], "properties": {
                "message": {"type": "string"}, "type": {"type": "string"}, "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]}}}}},
        "OpenAITranscription": {"type": "object", "required": ["text"], "properties": {
            "text": {"type": "string"}, "task": {"type": "string"}, "language": {"type": "string"},
            "duration": {"type": "number"}, "segments": {"type": "array", "items": segment},
            "words": {"type": "array", "items": word}, "usage": {"type": "object"}}},
    }


def _operation(translate: bool) -> dict[str, Any]:
    name = "translation" if translate else "transcription"
    error = {"description": "error", "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/OpenAIError"}}}}
    return {"post": {
        "summary": f"OpenAI-compatible {name} (queued as a task; its id in X-Maie-Task-Id)",
        "operationId": f"openai_{name}s",
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _form(translate)}}},
        "responses": {
            "200": {"description": f"the {name}", "headers": {"X-Maie-Task-Id": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAITranscription"}},
                                "text/plain": {"schema": {"type": "string"}},
                                "text/event-stream": {"schema": {"type": "string"}}}},
            **{str(c): error for c in (400, 401, 408, 409, 413, 415, 422, 429, 500, 503, 507)},
        },
    }}


def openai_paths() -> dict[str, Any]:
    return {"/v1/audio/transcriptions": _operation(False), "/v1/audio/translations": _operation(True)}


def openai_schemas() -> dict[str, Any]:
    return _schemas()
