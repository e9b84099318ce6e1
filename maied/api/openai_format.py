"""OpenAI's audio API answers (json, text, srt, vtt, verbose_json, stream events) built from a task's results."""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from typing import Any

from maied.api import subtitles
from maied.api.languages import language_name

RESPONSE_FORMATS = ("json", "text", "srt", "verbose_json", "vtt", "diarized_json")
GRANULARITIES = ("word", "segment")


@dataclass
class Answer:
    """What one transcription or translation asked for, beside the task it queued."""

    response_format: str = "json"
    granularities: list[str] = field(default_factory=list)
    task: str = "transcribe"
    stream: bool = False


def render(answer: Answer, results: dict[str, Any], duration: float | None) -> tuple[str, str]:
    """(body, content type) of the answer for these results."""
    fmt = answer.response_format
    if fmt == "text":
        return text_of(results) + "\n", "text/plain"
    if fmt == "srt":
        return subtitles.to_srt(_segments(results)), "text/plain"
    if fmt == "vtt":
        return subtitles.to_vtt(_segments(results)), "text/plain"
    if fmt == "verbose_json":
        return json.dumps(verbose_json(answer, results, duration), ensure_ascii=False), "application/json"
    if fmt == "diarized_json":
        return json.dumps(diarized_json(answer, results, duration), ensure_ascii=False), "application/json"
    body = {"text": text_of(results), "usage": usage(duration)}
    return json.dumps(body, ensure_ascii=False), "application/json"


def text_of(results: dict[str, Any]) -> str:
    return str(results.get("raw_transcript") or "").strip()


def _segments(results: dict[str, Any]) -> list[dict[str, Any]]:
    return list(results.get("segments") or [])


def usage(duration: float | None) -> dict[str, Any]:
    """Billing-style usage as OpenAI reports it for whisper-1: whole seconds of input audio."""
    return {"type": "duration", "seconds": int(math.ceil(duration or 0.0))}


def diarized_json(answer: Answer, results: dict[str, Any], duration: float | None) -> dict[str, Any]:
    """OpenAI's diarized answer: one `transcript.text.segment` per speaker segment, speakers as maie labels
    them (SPEAKER_1, SPEAKER_2, … in order of first appearance)."""
    segments = [{"type": "transcript.text.segment", "id": f"seg_{i}", "start": round(float(s["start"]), 3),
                 "end": round(float(s["end"]), 3), "text": str(s.get("text", "")).strip(),
                 "speaker": s.get("speaker") or "SPEAKER_1"} for i, s in enumerate(_segments(results))]
    return {"task": answer.task, "duration": round(float(duration or 0.0), 3), "text": text_of(results),
            "segments": segments, "usage": usage(duration)}


def verbose_json(answer: Answer, results: dict[str, Any], duration: float | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task": answer.task,
        "language": language_name(results.get("language")),
        "duration": round(float(duration or 0.0), 3),
        "text": text_of(results),
    }
    segments = _segments(results)
    if not answer.granularities or "segment" in answer.granularities:
        body["segments"] = [verbose_segment(i, s) for i, s in enumerate(segments)]
    if "word" in answer.granularities:
        body["words"] = [{"word": w, "start": round(start, 3), "end": round(end, 3)}
                         for s in segments for start, end, w in subtitles.timed_words(s)]
    body["usage"] = usage(duration)
    return body


def verbose_segment(index: int, segment: dict[str, Any]) -> dict[str, Any]:
    """One segment in OpenAI's shape; decoding detail the backend did not give is filled the way Whisper
    defines it (seek in 10 ms frames, the zlib compression ratio of the text)."""
    text = str(segment.get("text") or "")
    start, end = float(segment["start"]), float(segment["end"])
    return {
        "id": index,
        "seek": int(segment.get("seek", round(start * 100))),
        "start": start,
        "end": end,
        "text": " " + text.strip() if text.strip() else "",
        "tokens": list(segment.get("tokens") or []),
        "temperature": float(segment.get("temperature") or 0.0),
        "avg_logprob": float(segment.get("avg_logprob") or 0.0),
        "compression_ratio": float(segment.get("compression_ratio") or compression_ratio(text)),
        "no_speech_prob": float(segment.get("no_speech_prob") or 0.0),
    }


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return round(len(data) / len(zlib.compress(data)), 4) if data else 0.0


def stream_events(results: dict[str, Any], duration: float | None) -> list[dict[str, Any]]:
    """`transcript.text.delta` per segment, then `transcript.text.done` with the whole text."""
    events: list[dict[str, Any]] = []
    for segment in _segments(results):
        text = str(segment.get("text") or "").strip()
        if text:
            events.append({"type": "transcript.text.delta", "delta": " " + text if events else text})
    events.append({"type": "transcript.text.done", "text": text_of(results), "usage": usage(duration)})
    return events


def error_type(status: int) -> str:
    """OpenAI's error `type` for an HTTP status."""
    named = {401: "authentication_error", 403: "permission_error", 404: "not_found_error",
             429: "rate_limit_error"}
    if status in named:
        return named[status]
    return "server_error" if status >= 500 else "invalid_request_error"


def error_body(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape; `code` is maie's error code (QUEUE_FULL, UNAUTHORIZED, ...)."""
    return {"error": {"message": message, "type": error_type(status), "param": param, "code": code}}
