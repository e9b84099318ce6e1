"""HTTP plumbing: one method per maied route, over the Unix socket or TCP.

Every method returns the parsed JSON body (or the raw bytes of a transcript file) or raises
`ClientError`. A `ClientError` with `http_status=None` means the daemon could not be reached.
"""

from __future__ import annotations

import errno
import mimetypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

DEFAULT_SOCKET = "/run/maie/maied.sock"
TRANSCRIPT_FORMATS = ("txt", "srt", "vtt", "json")
MAX_WAIT_SECONDS = 60


class ClientError(Exception):
    """A request that did not succeed: `http_status` is None when the daemon was not reached."""

    def __init__(self, code: str, message: str, *, http_status: int | None = None,
                 details: dict[str, Any] | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.details = details or {}


@dataclass(frozen=True)
class Connection:
    """Where the daemon is: a Unix socket path, or a base URL (then `api_key` is sent as X-API-Key)."""

    socket: str = DEFAULT_SOCKET
    url: str | None = None
    api_key: str | None = None
    timeout: float = 60.0

    @property
    def target(self) -> str:
        return self.url if self.url else self.socket


@dataclass
class SubmitOptions:
    """The form fields of POST /v1/process, as the user gave them (None = let the daemon decide)."""

    features: list[str] = field(default_factory=list)
    template_id: str | None = None
    asr_backend: str | None = None
    language: str | None = None
    enable_vad: bool | None = None
    vad_threshold: float | None = None
    vocabulary: str | None = None
    diarize: bool = False
    speakers: int | None = None

    def form_fields(self) -> list[tuple[str, str]]:
        fields = [("features", f) for f in self.features]
        scalars: dict[str, Any] = {
            "template_id": self.template_id,
            "asr_backend": self.asr_backend,
            "language": self.language,
            "enable_vad": None if self.enable_vad is None else str(self.enable_vad).lower(),
            "vad_threshold": self.vad_threshold,
            "vocabulary": self.vocabulary,
            "enable_diarization": "true" if self.diarize else None,
            "num_speakers": self.speakers,
        }
        fields += [(k, str(v)) for k, v in scalars.items() if v is not None]
        return fields


class MaiedClient:
    """A small synchronous client of the maied v1 API."""

    def __init__(self, connection: Connection):
        self.connection = connection
        headers = {"User-Agent": "maictl"}
        if connection.api_key:
            headers["X-API-Key"] = connection.api_key
        timeout = httpx.Timeout(connection.timeout, connect=10.0)
        if connection.url:
            self._http = httpx.Client(base_url=connection.url.rstrip("/"), headers=headers, timeout=timeout)
        else:
            transport = httpx.HTTPTransport(uds=connection.socket)
            self._http = httpx.Client(transport=transport, base_url="http://maied", headers=headers,
                                      timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MaiedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- routes -------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """GET /health. A 503 with a health body (an unhealthy daemon) is returned, not raised."""
        response = self._send("GET", "/health")
        if response.status_code == 503 and _is_health_body(response):
            return dict(response.json())
        return _json_or_raise(response)

    def models(self) -> Any:
        return self._get_json("/v1/models")

    def templates(self) -> Any:
        return self._get_json("/v1/templates")

    def template(self, template_id: str) -> Any:
        return self._get_json(f"/v1/templates/{_segment(template_id)}")

    def template_schema(self, template_id: str) -> Any:
        return self._get_json(f"/v1/templates/{_segment(template_id)}/schema")

    def submit(self, path: Path, options: SubmitOptions) -> dict[str, Any]:
        """POST /v1/process: the file is streamed from disk in chunks, never read whole."""
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        with path.open("rb") as fh:
            files: dict[str, tuple[str, IO[bytes], str]] = {"file": (path.name, fh, content_type)}
            response = self._send("POST", "/v1/process", data=_multi_dict(options.form_fields()), files=files)
        return _json_or_raise(response)

    def submit_text(self, text: str, features: list[str], template_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text}
        if features:
            body["features"] = features
        if template_id:
            body["template_id"] = template_id
        return _json_or_raise(self._send("POST", "/v1/process_text", json=body))

    def summarize(self, task_id: str, template_id: str | None, features: list[str]) -> dict[str, Any]:
        """POST /v1/tasks/{id}/summarize: a new task running the LLM part on the task's stored transcript."""
        body: dict[str, Any] = {}
        if features:
            body["features"] = features
        if template_id:
            body["template_id"] = template_id
        return _json_or_raise(self._send("POST", f"/v1/tasks/{_segment(task_id)}/summarize", json=body))

    def status(self, task_id: str, wait: float | None = None) -> dict[str, Any]:
        """GET /v1/status/{id}; with `wait`, the long-poll that answers on a change or after `wait` s."""
        params: dict[str, Any] = {}
        timeout: httpx.Timeout | None = None
        if wait is not None:
            wait = max(0.0, min(float(wait), MAX_WAIT_SECONDS))
            params["wait"] = f"{wait:g}"
            timeout = httpx.Timeout(wait + max(self.connection.timeout, 30.0), connect=10.0)
        response = self._send("GET", f"/v1/status/{_segment(task_id)}", params=params, timeout=timeout)
        return _json_or_raise(response)

    def list_tasks(self, status: str | None = None, limit: int | None = None,
                   cursor: str | None = None) -> Any:
        params = {k: v for k, v in {"status": status, "limit": limit, "cursor": cursor}.items() if v is not None}
        return self._get_json("/v1/tasks", params=params)

    def cancel(self, task_id: str) -> dict[str, Any]:
        return _json_or_raise(self._send("POST", f"/v1/tasks/{_segment(task_id)}/cancel"))

    def delete(self, task_id: str) -> dict[str, Any]:
        return _json_or_raise(self._send("DELETE", f"/v1/tasks/{_segment(task_id)}"))

    @contextmanager
    def transcript(self, task_id: str, fmt: str) -> Iterator[Iterator[bytes]]:
        """GET /v1/tasks/{id}/transcript.{fmt}, yielding an iterator over the body's chunks."""
        if fmt not in TRANSCRIPT_FORMATS:
            raise ValueError(f"unknown transcript format {fmt!r}")
        request = self._http.build_request("GET", f"/v1/tasks/{_segment(task_id)}/transcript.{fmt}")
        with self._guard():
            response = self._http.send(request, stream=True)
        try:
            if response.status_code >= 400:
                with self._guard():
                    response.read()
                raise _error_from(response)
            yield self._guarded_chunks(response)
        finally:
            response.close()

    # --- plumbing -----------------------------------------------------------------------------------
    def _get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return _json_or_raise(self._send("GET", path, params=params))

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if kwargs.get("timeout", 0) is None:
            del kwargs["timeout"]
        with self._guard():
            return self._http.request(method, path, **kwargs)

    def _guarded_chunks(self, response: httpx.Response) -> Iterator[bytes]:
        with self._guard():
            yield from response.iter_bytes()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn transport failures into a ClientError naming the daemon's address and a next step."""
        try:
            yield
        except httpx.TimeoutException as exc:
            raise ClientError("TIMEOUT", f"no answer from maied at {self.connection.target} "
                              f"({type(exc).__name__}); is it overloaded or stuck? {start_hint().split('? ', 1)[1]}") from exc
        except httpx.TransportError as exc:
            raise ClientError("UNREACHABLE", describe_unreachable(self.connection, exc)) from exc


SYSTEMD_UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")


def start_hint() -> str:
    """What to look at when maied does not answer: its systemd unit where there is one, else how to run it."""
    if os.path.isdir("/run/systemd/system") and any(os.path.exists(os.path.join(d, "maied.service"))
                                                    for d in SYSTEMD_UNIT_DIRS):
        return "is maied running? see `systemctl status maied`"
    return "is maied running? start it with `maied serve`, and point maictl at its socket with MAIE_SOCKET"


def describe_unreachable(connection: Connection, exc: Exception) -> str:
    """One line saying why the daemon could not be reached and what to try."""
    hint = start_hint()
    target = connection.url or connection.socket
    error_number = _os_errno(exc)
    if error_number == errno.ECONNREFUSED:
        stale = "" if connection.url else ", a stale socket"
        return f"cannot reach maied at {target}: connection refused{stale} ({hint})"
    if connection.url:
        return f"cannot reach maied at {target}: {_reason(exc)} ({hint})"
    if error_number in (errno.EACCES, errno.EPERM):
        return (f"cannot reach maied at {target}: permission denied (join the `maie` group: "
                "`sudo usermod -aG maie $USER`, then log in again)")
    if error_number == errno.ENOENT or not os.path.exists(target):
        return f"cannot reach maied at {target}: no such file ({hint})"
    return f"cannot reach maied at {target}: {_reason(exc)} ({hint})"


def _os_errno(exc: BaseException) -> int | None:
    """The errno of the OSError under httpx's wrappers, if there is one."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen.errno
        seen = seen.__cause__ or seen.__context__
    return None


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.split("] ", 1)[-1].strip() or type(exc).__name__


def _segment(value: str) -> str:
    """Quote a path segment (a task or template id) so that it cannot change the route."""
    return quote(value, safe="")


def _multi_dict(fields: list[tuple[str, str]]) -> dict[str, Any]:
    """httpx takes repeated form fields as a list value."""
    out: dict[str, Any] = {}
    for key, value in fields:
        if key in out:
            out[key] = (out[key] if isinstance(out[key], list) else [out[key]]) + [value]
        else:
            out[key] = value
    return out


def _is_health_body(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "status" in body and "error" not in body


def _json_or_raise(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise _error_from(response)
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError as exc:
        raise ClientError("BAD_RESPONSE", f"maied answered HTTP {response.status_code} with a body that is "
                          "not JSON", http_status=response.status_code) from exc


def _error_from(response: httpx.Response) -> ClientError:
    """Build a ClientError from the `{"error": {"code", "message", "details"}}` body (or whatever came)."""
    status = response.status_code
    code, message = f"HTTP_{status}", response.reason_phrase or "error"
    details: dict[str, Any] = {}
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code = str(err.get("code") or code)
        message = str(err.get("message") or message)
        details = err.get("details") if isinstance(err.get("details"), dict) else {}
    elif response.text.strip():
        message = response.text.strip().splitlines()[0][:200]
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        message = f"{message} (retry after {retry_after} s)"
    return ClientError(code, message, http_status=status, details=details)
