"""Validate the fields of POST /v1/process and /v1/process_text into a TaskRequest (4xx on bad input)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from maied.capabilities import Capabilities
from maied.domain import ASR_BACKENDS, LLM_FEATURES, Feature, TaskRequest
from maied.errors import (
    BackendUnavailable,
    FeatureUnavailable,
    InvalidRequest,
    LLMUnavailable,
    MissingExtra,
    TemplateNotFound,
    TemplateRequired,
    Unprocessable,
)

LANGUAGE_RE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z]{2,8})?$")
TEMPLATE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_VOCABULARY_TERMS = 200
MAX_TERM_CHARS = 100
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def split_list(values: list[str]) -> list[str]:
    """Repeated fields, comma lists or JSON lists, all flattened."""
    out: list[str] = []
    for value in values:
        value = value.strip()
        if value.startswith("["):
            try:
                items = json.loads(value)
            except (json.JSONDecodeError, RecursionError):
                raise InvalidRequest(f"not a JSON list: {value[:80]}") from None
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise InvalidRequest("expected a JSON list of strings")
            out.extend(i.strip() for i in items)
        else:
            out.extend(part.strip() for part in value.split(","))
    return [v for v in out if v]


def parse_bool(name: str, value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise Unprocessable(f"{name} must be true or false, got {value[:40]!r}", code="INVALID_REQUEST")


def parse_features(values: list[str]) -> list[str]:
    features = split_list(values) or [Feature.RAW_TRANSCRIPT.value]
    known = {f.value for f in Feature}
    unknown = [f for f in features if f not in known]
    if unknown:
        raise Unprocessable(f"unknown feature(s) {unknown}; allowed: {sorted(known)}", code="INVALID_REQUEST")
    return list(dict.fromkeys(features))


def _float(name: str, value: str | None, low: float, high: float) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise Unprocessable(f"{name} must be a number", code="INVALID_REQUEST") from None
    if not low <= number <= high:
        raise Unprocessable(f"{name} must be between {low} and {high}", code="INVALID_REQUEST")
    return number


MAX_SPEAKERS = 20


def _speakers(name: str, value: str | None) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise Unprocessable(f"{name} must be a whole number", code="INVALID_REQUEST") from None
    if not 1 <= number <= MAX_SPEAKERS:
        raise Unprocessable(f"{name} must be between 1 and {MAX_SPEAKERS}", code="INVALID_REQUEST")
    return number


def check_speaker_bounds(request: TaskRequest) -> None:
    """num_speakers / min_speakers / max_speakers: only with enable_diarization, and consistent."""
    given = {k: v for k, v in (("num_speakers", request.num_speakers), ("min_speakers", request.min_speakers),
                               ("max_speakers", request.max_speakers)) if v is not None}
    if given and not request.enable_diarization:
        raise Unprocessable(f"{', '.join(given)} need(s) enable_diarization=true", code="INVALID_REQUEST")
    low, high = request.min_speakers, request.max_speakers
    if low is not None and high is not None and low > high:
        raise Unprocessable("min_speakers must not exceed max_speakers", code="INVALID_REQUEST")
    num = request.num_speakers
    if num is not None and ((low is not None and num < low) or (high is not None and num > high)):
        raise Unprocessable("num_speakers lies outside min_speakers..max_speakers", code="INVALID_REQUEST")


def build_request(fields: dict[str, list[str]], *, audio: bool) -> TaskRequest:
    """Turn raw form fields into a TaskRequest; 4xx for anything malformed."""

    def one(name: str) -> str | None:
        values = fields.get(name)
        return values[-1] if values else None

    language = (one("language") or "").strip() or None
    if language is not None and not LANGUAGE_RE.match(language):
        raise Unprocessable(f"language must be a code like 'vi' or 'en', got {language[:20]!r}",
                            code="INVALID_REQUEST")
    backend = (one("asr_backend") or "").strip() or None
    if backend is not None and backend not in ASR_BACKENDS:
        raise Unprocessable(f"asr_backend must be one of {list(ASR_BACKENDS)}", code="INVALID_REQUEST")
    vocabulary = split_list(fields.get("vocabulary", []))
    if len(vocabulary) > MAX_VOCABULARY_TERMS or any(len(t) > MAX_TERM_CHARS for t in vocabulary):
        raise Unprocessable(f"vocabulary: at most {MAX_VOCABULARY_TERMS} terms of {MAX_TERM_CHARS} characters",
                            code="INVALID_REQUEST")
    template_id = (one("template_id") or "").strip() or None
    if template_id is not None and not TEMPLATE_ID_RE.match(template_id):
        raise TemplateNotFound(f"no template {template_id[:64]!r}")
    return TaskRequest(
        features=parse_features(fields.get("features", [])),
        template_id=template_id,
        asr_backend=backend if audio else None,
        language=language,
        enable_vad=parse_bool("enable_vad", one("enable_vad")),
        vad_threshold=_float("vad_threshold", one("vad_threshold"), 0.0, 1.0),
        enable_diarization=bool(parse_bool("enable_diarization", one("enable_diarization"))),
        num_speakers=_speakers("num_speakers", one("num_speakers")),
        min_speakers=_speakers("min_speakers", one("min_speakers")),
        max_speakers=_speakers("max_speakers", one("max_speakers")),
        vocabulary=vocabulary,
    )


def check_feasible(request: TaskRequest, caps: Capabilities, default_backend: str, *, audio: bool,
                   template_exists: Callable[[str], bool]) -> None:
    """What the daemon cannot do is refused at submit, never silently answered with less."""
    check_speaker_bounds(request)
    if request.enable_diarization:
        if not audio:
            raise Unprocessable("enable_diarization needs audio (process_text has none)", code="INVALID_REQUEST")
        reason = caps.diarization_unavailable
        if reason:
            raise FeatureUnavailable(f"speaker diarization is not available on this host: {reason}",
                                     details={"extra": "diarization"})
    if Feature.SUMMARY.value in request.features:
        if not request.template_id:
            raise TemplateRequired("the summary feature needs a template_id (see GET /v1/templates)")
        if not template_exists(request.template_id):
            raise TemplateNotFound(f"no template {request.template_id!r} (see GET /v1/templates)")
    if not audio and not any(f in LLM_FEATURES for f in request.features):
        raise Unprocessable("process_text needs clean_transcript and/or summary in features",
                            code="INVALID_REQUEST")
    if request.wants_llm():
        reason = caps.llm_unavailable()
        if reason:
            raise LLMUnavailable(reason)
    if audio:
        check_asr(request, caps, request.asr_backend or default_backend)


def check_asr(request: TaskRequest, caps: Capabilities, backend: str) -> None:
    if backend == "chunkformer" and request.language not in (None, "vi"):
        raise Unprocessable(f"ChunkFormer transcribes Vietnamese only (language 'vi'), not "
                            f"{request.language!r}: use asr_backend=whisper", code="INVALID_REQUEST")
    if backend != "whisper" and request.task == "translate":
        raise Unprocessable(f"only Whisper translates; the {backend} backend cannot", code="INVALID_REQUEST")
    if backend not in caps.asr_backends:
        raise BackendUnavailable(MissingExtra(f"the {backend} ASR backend", backend).message,
                                 details={"extra": backend})
    if backend == "whisper" and request.language and not caps.whisper_knows(request.language):
        raise Unprocessable(f"Whisper does not know the language {request.language!r}", code="INVALID_REQUEST")


def form_fields_to_dict(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


def json_body_fields(body: Any) -> dict[str, list[str]]:
    """The JSON body of process_text as form-like fields (lists are kept as JSON)."""
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    fields: dict[str, list[str]] = {}
    for key, value in body.items():
        if key == "text":
            continue
        if isinstance(value, list):
            fields[key] = [json.dumps(value)]
        elif isinstance(value, bool):
            fields[key] = ["true" if value else "false"]
        elif value is not None:
            fields[key] = [str(value)]
    return fields
