"""Every error that crosses a boundary: each carries its API `error_code` and HTTP status.

Request errors (4xx/5xx) answer `{"error": {"code", "message", "details"}}`; task failures end a task
`FAILED` with `error_code`, `error` (the message) and the stage it failed in.
"""

from __future__ import annotations

from typing import Any


class MaieError(Exception):
    """Base: `code` is the API error code, `status` the HTTP status."""

    code: str = "INTERNAL_ERROR"
    status: int = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code is not None:
            self.code = code

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class ConfigError(MaieError):
    """A setting is invalid: start-up fails with this one line."""

    code = "CONFIG_ERROR"


# --- request errors --------------------------------------------------------------------------------
class InvalidRequest(MaieError):
    code, status = "INVALID_REQUEST", 400


class Unprocessable(MaieError):
    """422 with a specific code: TEMPLATE_REQUIRED, TEMPLATE_NOT_FOUND, LLM_UNAVAILABLE, ..."""

    code, status = "INVALID_REQUEST", 422


class TemplateRequired(Unprocessable):
    code = "TEMPLATE_REQUIRED"


class TemplateNotFound(Unprocessable):
    code = "TEMPLATE_NOT_FOUND"


class LLMUnavailable(Unprocessable):
    code = "LLM_UNAVAILABLE"


class FeatureUnavailable(Unprocessable):
    code = "FEATURE_UNAVAILABLE"


class BackendUnavailable(Unprocessable):
    code = "BACKEND_UNAVAILABLE"


class Unauthorized(MaieError):
    code, status = "UNAUTHORIZED", 401


class Forbidden(MaieError):
    code, status = "FORBIDDEN", 403


class TaskNotFound(MaieError):
    code, status = "TASK_NOT_FOUND", 404


class NotFound(MaieError):
    code, status = "NOT_FOUND", 404


class TaskNotCancellable(MaieError):
    code, status = "TASK_NOT_CANCELLABLE", 409


class TaskNotFinished(MaieError):
    code, status = "TASK_NOT_FINISHED", 409


class Conflict(MaieError):
    code, status = "CONFLICT", 409


class NoTranscript(MaieError):
    """POST /v1/tasks/{id}/summarize of a task that ended without a transcript."""

    code, status = "NO_TRANSCRIPT", 409


class ResultExpired(MaieError):
    code, status = "RESULT_EXPIRED", 410


class FileTooLarge(MaieError):
    code, status = "FILE_TOO_LARGE", 413


class RequestTimeout(MaieError):
    code, status = "REQUEST_TIMEOUT", 408


class UnsupportedMedia(MaieError):
    code, status = "UNSUPPORTED_MEDIA", 415


class QueueFull(MaieError):
    code, status = "QUEUE_FULL", 429


class ShuttingDown(MaieError):
    code, status = "SHUTTING_DOWN", 503


class Unavailable(MaieError):
    code, status = "UNAVAILABLE", 503


class DiskFull(MaieError):
    code, status = "DISK_FULL", 507


# --- task failures (error_code of a FAILED task) ---------------------------------------------------
class TaskFailure(MaieError):
    """Raised inside the pipeline; the worker records it on the task."""

    code = "ASR_PROCESSING_ERROR"


class AudioDecodeError(TaskFailure):
    code = "AUDIO_DECODE_ERROR"


class AudioTooShort(TaskFailure):
    code = "AUDIO_TOO_SHORT"


class AudioTooLong(TaskFailure):
    """More audio than MAX_AUDIO_SECONDS: 413 when the probe sees it before 202, else the task's failure."""

    code, status = "AUDIO_TOO_LONG", 413


class ModelNotFound(TaskFailure):
    code = "MODEL_NOT_FOUND"


class ModelMemoryError(TaskFailure):
    code = "MODEL_MEMORY_ERROR"


class ASRProcessingError(TaskFailure):
    code = "ASR_PROCESSING_ERROR"


class LLMProcessingError(TaskFailure):
    code = "LLM_PROCESSING_ERROR"


class MissingExtra(BackendUnavailable):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, what: str, extra: str, *, import_error: str = ""):
        hint = f"pip install 'maie[{extra}]'" if extra else "see scripts/install.sh"
        msg = f"{what} is not installed: install the '{extra}' extra ({hint} or scripts/install.sh --with {extra})"
        super().__init__(msg, details={"extra": extra, "import_error": import_error} if import_error else {"extra": extra})


TASK_FAILURE_CODES = (
    "AUDIO_DECODE_ERROR",
    "AUDIO_TOO_SHORT",
    "MODEL_NOT_FOUND",
    "MODEL_MEMORY_ERROR",
    "ASR_PROCESSING_ERROR",
    "LLM_PROCESSING_ERROR",
    "JOB_TIMEOUT",
    "WORKER_CRASHED",
    "AUDIO_TOO_LONG",
)
