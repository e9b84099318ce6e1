"""The form fields of OpenAI's /v1/audio/transcriptions and /v1/audio/translations as a TaskRequest."""

from __future__ import annotations

from maied.api.forms import LANGUAGE_RE, parse_bool
from maied.api.openai_format import GRANULARITIES, RESPONSE_FORMATS, Answer
from maied.domain import Feature, TaskRequest
from maied.errors import InvalidRequest
from maied.model_inventory import asr_backend_for_model
from maied.settings import Settings

MAX_PROMPT_CHARS = 4000
COMMON = frozenset({"model", "prompt", "response_format", "temperature", "stream"})
TRANSCRIPTION_FIELDS = COMMON | {"language", "timestamp_granularities[]", "timestamp_granularities"}


def bad(message: str, param: str | None) -> InvalidRequest:
    return InvalidRequest(message, details={"param": param} if param else None)


def parse_audio_form(fields: dict[str, list[str]], settings: Settings, *, translate: bool,
                     filename: str | None) -> tuple[TaskRequest, Answer]:
    """Validate the fields (400 naming the field on anything malformed or not supported)."""
    allowed = COMMON if translate else TRANSCRIPTION_FIELDS
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise bad(f"unrecognized request argument(s): {', '.join(unknown)}", unknown[0])

    def one(name: str) -> str | None:
        values = fields.get(name)
        return values[-1].strip() if values else None

    answer = Answer(response_format=_response_format(one("response_format")),
                    granularities=_granularities(fields), task="translate" if translate else "transcribe",
                    stream=bool(_bool("stream", one("stream"))))
    if answer.granularities and answer.response_format != "verbose_json":
        raise bad("timestamp_granularities[] needs response_format=verbose_json", "timestamp_granularities[]")
    request = TaskRequest(
        features=[Feature.RAW_TRANSCRIPT.value],
        asr_backend=asr_backend_for_model(one("model"), settings),
        language=_language(one("language")),
        filename=filename,
        task=answer.task,
        prompt=_prompt(fields.get("prompt")),
        temperature=_temperature(one("temperature")),
        segment_detail=True,
        enable_diarization=answer.response_format == "diarized_json",
    )
    if translate and request.asr_backend != "whisper":
        raise bad(f"the {request.asr_backend} backend cannot translate: use model=whisper", "model")
    return request, answer


def _response_format(value: str | None) -> str:
    fmt = value or "json"
    if fmt not in RESPONSE_FORMATS:
        raise bad(f"response_format must be one of {', '.join(RESPONSE_FORMATS)}", "response_format")
    return fmt


def _granularities(fields: dict[str, list[str]]) -> list[str]:
    values = [*fields.get("timestamp_granularities[]", []), *fields.get("timestamp_granularities", [])]
    wanted = [v.strip() for value in values for v in value.split(",") if v.strip()]
    for value in wanted:
        if value not in GRANULARITIES:
            raise bad("timestamp_granularities[] takes word and/or segment", "timestamp_granularities[]")
    return list(dict.fromkeys(wanted))


def _language(value: str | None) -> str | None:
    if value and not LANGUAGE_RE.match(value):
        raise bad(f"language must be an ISO-639-1 code like 'en' or 'vi', got {value[:20]!r}", "language")
    return value or None


def _prompt(values: list[str] | None) -> str | None:
    prompt = (values[-1] if values else "").strip()
    if len(prompt) > MAX_PROMPT_CHARS:
        raise bad(f"prompt is longer than {MAX_PROMPT_CHARS} characters", "prompt")
    return prompt or None


def _temperature(value: str | None) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise bad("temperature must be a number between 0 and 1", "temperature") from None
    if not 0.0 <= number <= 1.0:
        raise bad("temperature must be between 0 and 1", "temperature")
    return number


def _bool(name: str, value: str | None) -> bool | None:
    try:
        return parse_bool(name, value)
    except Exception:
        raise bad(f"{name} must be true or false", name) from None
