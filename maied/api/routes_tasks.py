"""Task routes: submit (audio, text), status with long-poll, list, cancel, delete, transcripts."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from maied.api import forms, subtitles, upload
from maied.api.connections import read_within
from maied.api.context import ApiContext, ctx_of, identity_of
from maied.api.views import status_body, summary_body
from maied.domain import TaskKind, TaskRequest, TaskStatus
from maied.errors import (
    AudioTooLong,
    DiskFull,
    InvalidRequest,
    NoTranscript,
    QueueFull,
    ResultExpired,
    ShuttingDown,
    TaskNotFinished,
    UnsupportedMedia,
)
from maied.media_probe import probe_media
from maied.store import NewTask, TaskRecord

MAX_WAIT_SECONDS = 60.0
MAX_TEXT_CHARS = 2_000_000
routes = web.RouteTableDef()


def new_task_id() -> str:
    return uuid.uuid4().hex


T = TypeVar("T")


def _admission(ctx: ApiContext, reserve: int = 0) -> None:
    """Cheap refusals before a byte of the upload is read. `reserve`: what this upload may write, counted
    with the other uploads in flight, so that several at once cannot pass the threshold together."""
    if ctx.facts.shutting_down():
        raise ShuttingDown("maied is shutting down; retry in a moment")
    if ctx.store.pending_count() >= ctx.settings.MAX_QUEUE_DEPTH:
        raise QueueFull(f"the queue is full ({ctx.settings.MAX_QUEUE_DEPTH} tasks waiting)",
                        details={"retry_after": 30})
    used = disk_used_percent(ctx, extra_bytes=reserve)
    if used is not None and used > ctx.settings.DISK_THRESHOLD:
        raise DiskFull(f"the data disk would be {used:.1f}% full with the uploads in flight (DISK_THRESHOLD "
                       f"{ctx.settings.DISK_THRESHOLD:g}%): uploads are refused until space is freed "
                       "(maied maintenance clean-all)", details={"disk_used_percent": round(used, 1)})


def disk_used_percent(ctx: ApiContext, extra_bytes: int = 0, *, in_flight: bool = True) -> float | None:
    """The data disk's use in percent; with `in_flight`, the uploads in flight and `extra_bytes` count as
    used (what they may still write)."""
    from maied.diskusage import disk_usage

    usage = disk_usage(ctx.settings.audio_dir if ctx.settings.audio_dir.exists() else ctx.settings.DATA_DIR)
    usable = usage.used_bytes + usage.available_bytes
    pending = ctx.uploads_reserved + extra_bytes if in_flight else 0
    return 100.0 * (usage.used_bytes + pending) / usable if usable else None


def template_exists(ctx: ApiContext, template_id: str) -> bool:
    dirs = [ctx.settings.templates_dir]
    if ctx.builtin_templates is not None:
        dirs.append(ctx.builtin_templates)
    return any((d / template_id / "schema.json").is_file() for d in dirs)


def _submit(ctx: ApiContext, task: NewTask) -> web.Response:
    record = submit_task(ctx, task)
    return web.json_response({"task_id": record.id, "status": record.status.value}, status=202)


def submit_task(ctx: ApiContext, task: NewTask) -> TaskRecord:
    """Record the task (429 when the queue is full, 507 when the database cannot grow)."""
    try:
        record = ctx.store.submit(task, max_pending=ctx.settings.MAX_QUEUE_DEPTH)
    except QueueFull as exc:
        exc.details["retry_after"] = 30
        raise
    except sqlite3.OperationalError as exc:
        if "full" not in str(exc).lower():  # SQLITE_FULL: "database or disk is full"
            raise
        raise DiskFull("the data disk is full: the task could not be recorded (free space: maied maintenance "
                       "clean-all)") from None
    return record


@routes.post("/v1/process")
async def process(request: web.Request) -> web.Response:
    def parse(fields: dict[str, list[str]], filename: str | None) -> tuple[TaskRequest, None]:
        task_request = forms.build_request(fields, audio=True)
        task_request.filename = filename
        return task_request, None

    ctx = ctx_of(request)
    task, _ = await receive_audio_task(request, ctx, parse)
    return _submit(ctx, task)


async def receive_audio_task(request: web.Request, ctx: ApiContext,
                             parse: Callable[[dict[str, list[str]], str | None], tuple[TaskRequest, T]]
                             ) -> tuple[NewTask, T]:
    """An upload received (its size reserved against DISK_THRESHOLD meanwhile), its fields parsed by
    `parse`, checked feasible and probed: the task to queue, for every route that takes a recording. A refusal
    leaves nothing on disk."""
    who = identity_of(request)
    reserve = min(request.content_length or ctx.settings.max_file_bytes, ctx.settings.max_file_bytes)
    _admission(ctx, reserve)
    task_id = new_task_id()
    task_dir = ctx.settings.audio_dir / task_id
    ctx.uploads_reserved += reserve
    try:
        received = await upload.receive_upload(request, task_dir, ctx.settings.max_file_bytes)
        task_request, extra = parse(forms.form_fields_to_dict(received.fields), received.filename)
        forms.check_feasible(task_request, ctx.caps, ctx.settings.ASR_BACKEND, audio=True,
                             template_exists=lambda t: template_exists(ctx, t))
        assert received.path is not None
        duration = await asyncio.to_thread(_probe, received.path, ctx.settings.MAX_AUDIO_SECONDS)
        return NewTask(id=task_id, kind=TaskKind.AUDIO, owner=who.owner, request=task_request,
                       audio_path=str(received.path), input_duration=duration), extra
    except BaseException:
        upload.discard(task_dir)
        raise
    finally:
        ctx.uploads_reserved -= reserve


def _probe(path: Any, max_audio_seconds: float) -> float | None:
    """The header's duration; 415 for no audio, 413 AUDIO_TOO_LONG for a visible length past the limit."""
    info = probe_media(path)
    if not info.has_audio:
        raise UnsupportedMedia("the file has no audio stream")
    if info.duration is not None and info.duration > max_audio_seconds:
        raise AudioTooLong(f"the audio is {info.duration:.0f} s long, longer than MAX_AUDIO_SECONDS "
                           f"({max_audio_seconds:g} s)", details={"duration_seconds": round(info.duration, 1),
                                                                  "max_audio_seconds": max_audio_seconds})
    return info.duration


async def _json_body(request: web.Request, shape: str) -> Any:
    try:
        return json.loads(await read_within(request.text()))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise InvalidRequest(f"the body must be JSON (nested at most a few hundred levels): {shape}") from None


@routes.post("/v1/process_text")
async def process_text(request: web.Request) -> web.Response:
    ctx, who = ctx_of(request), identity_of(request)
    _admission(ctx)
    body = await _json_body(request, '{"text", "features", "template_id"}')
    fields = forms.json_body_fields(body)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest("`text` must be a non-empty string")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidRequest(f"`text` is longer than {MAX_TEXT_CHARS} characters")
    task_request = forms.build_request(fields, audio=False)
    forms.check_feasible(task_request, ctx.caps, ctx.settings.ASR_BACKEND, audio=False,
                         template_exists=lambda t: template_exists(ctx, t))
    task = NewTask(id=new_task_id(), kind=TaskKind.TEXT, owner=who.owner, request=task_request, input_text=text)
    return _submit(ctx, task)


@routes.post("/v1/tasks/{task_id}/summarize")
async def summarize(request: web.Request) -> web.Response:
    """A new text task: the LLM part alone, on the stored transcript of a finished or failed task."""
    ctx, who = ctx_of(request), identity_of(request)
    source = ctx.owned_task(request.match_info["task_id"], who)
    _admission(ctx)
    body = await _json_body(request, '{"template_id", "features"}')
    fields = forms.json_body_fields({k: v for k, v in body.items() if k in ("template_id", "features")}
                                    if isinstance(body, dict) else body)
    task_request = forms.build_request({"features": ["summary"], **fields}, audio=False)
    text = _stored_transcript(_readable(ctx, source))
    task_request.language = (source.results or {}).get("language") or source.request.language
    task_request.vocabulary = source.request.vocabulary
    task_request.source_task_id = source.id
    forms.check_feasible(task_request, ctx.caps, ctx.settings.ASR_BACKEND, audio=False,
                         template_exists=lambda t: template_exists(ctx, t))
    task = NewTask(id=new_task_id(), kind=TaskKind.TEXT, owner=who.owner, request=task_request, input_text=text)
    return _submit(ctx, task)


def _stored_transcript(record: TaskRecord) -> str:
    """The text a summary of `record` reads: its cleaned transcript when it has one, else the raw one (a
    text task's own text); 409 while it runs or when it ended without one."""
    if not record.status.is_terminal:
        raise TaskNotFinished(f"task {record.id} is {record.status.value}: summarize it once it has ended")
    results = record.results or {}
    text = record.input_text if record.kind == TaskKind.TEXT else (
        results.get("clean_transcript") or results.get("raw_transcript"))
    if not text or not str(text).strip():
        raise NoTranscript(f"task {record.id} ended {record.status.value} without a transcript to summarize")
    return str(text)


def _readable(ctx: ApiContext, record: TaskRecord) -> TaskRecord:
    """410 once the results are past RESULT_TTL (expired lazily here and by the periodic sweep)."""
    fresh = record.status.is_terminal and record.results_expired_at is None
    if fresh and ctx.store.expire_results(ctx.settings.RESULT_TTL, task_id=record.id):
        record = ctx.store.require(record.id)
    if record.results_expired_at is not None:
        raise ResultExpired(f"the results of task {record.id} were deleted after RESULT_TTL "
                            f"({ctx.settings.RESULT_TTL} s)")
    return record


@routes.get("/v1/status/{task_id}")
async def status(request: web.Request) -> web.Response:
    ctx, who = ctx_of(request), identity_of(request)
    task_id = request.match_info["task_id"]
    wait = _wait_seconds(request)
    event = ctx.changes.event_for(task_id)
    record = ctx.owned_task(task_id, who)
    if wait > 0 and not record.status.is_terminal:
        seen = (record.status, record.stage)
        deadline = time.monotonic() + wait
        while (record.status, record.stage) == seen and (left := deadline - time.monotonic()) > 0:
            await ctx.changes.wait(event, left)
            event = ctx.changes.event_for(task_id)
            record = ctx.owned_task(task_id, who)
    record = _readable(ctx, record)
    return web.json_response(status_body(record, ctx.store.queue_position(record)))


def _wait_seconds(request: web.Request) -> float:
    raw = request.query.get("wait")
    if raw is None or raw == "":
        return 0.0
    try:
        wait = float(raw)
    except ValueError:
        raise InvalidRequest("wait must be a number of seconds (at most 60)") from None
    if not 0 <= wait <= MAX_WAIT_SECONDS or wait != wait:
        raise InvalidRequest("wait must be between 0 and 60 seconds")
    return wait


@routes.get("/v1/tasks")
async def list_tasks(request: web.Request) -> web.Response:
    ctx, who = ctx_of(request), identity_of(request)
    status_filter = request.query.get("status") or None
    if status_filter is not None and status_filter not in TaskStatus.__members__:
        raise InvalidRequest(f"status must be one of {list(TaskStatus.__members__)}")
    try:
        limit = int(request.query.get("limit", "50"))
        cursor = int(request.query["cursor"]) if request.query.get("cursor") else None
    except ValueError:
        raise InvalidRequest("limit and cursor must be integers") from None
    if cursor is not None and not 0 <= cursor < 2**63:
        raise InvalidRequest("cursor must be a next_cursor this route answered")
    if not 1 <= limit <= 500:
        raise InvalidRequest("limit must be between 1 and 500")
    records = ctx.store.list_tasks(status=status_filter, owner=None if who.is_admin else who.owner,
                                   limit=limit, before_seq=cursor)
    next_cursor = str(records[-1].seq) if len(records) == limit else None
    return web.json_response({"tasks": [summary_body(r) for r in records], "next_cursor": next_cursor})


@routes.post("/v1/tasks/{task_id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    ctx, who = ctx_of(request), identity_of(request)
    record = ctx.owned_task(request.match_info["task_id"], who)
    record = ctx.store.request_cancel(record.id)
    return web.json_response({"task_id": record.id, "status": record.status.value,
                              "cancel_requested": record.status != TaskStatus.CANCELLED}, status=202)


@routes.delete("/v1/tasks/{task_id}")
async def delete(request: web.Request) -> web.Response:
    ctx, who = ctx_of(request), identity_of(request)
    record = ctx.owned_task(request.match_info["task_id"], who)
    if not record.status.is_terminal:
        raise TaskNotFinished(f"task {record.id} is {record.status.value}: cancel it first")
    upload.discard(ctx.settings.audio_dir / record.id)
    ctx.store.delete(record.id)
    return web.json_response({"task_id": record.id, "deleted": True})


@routes.get(r"/v1/tasks/{task_id}/transcript.{fmt:txt|srt|vtt|json}")
async def transcript(request: web.Request) -> web.Response:
    ctx, who = ctx_of(request), identity_of(request)
    record = _readable(ctx, ctx.owned_task(request.match_info["task_id"], who))
    results, fmt = _transcript_results(record), request.match_info["fmt"]
    segments = results.get("segments") or []
    if fmt == "json":
        return web.json_response({"task_id": record.id, "language": results.get("language"),
                                  "text": results.get("raw_transcript", ""),
                                  "clean_text": results.get("clean_transcript"), "segments": segments},
                                 dumps=lambda obj: json.dumps(obj, ensure_ascii=False) + "\n")
    body = {"txt": lambda: subtitles.to_text(results), "srt": lambda: subtitles.to_srt(segments),
            "vtt": lambda: subtitles.to_vtt(segments)}[fmt]()
    ctype = {"txt": "text/plain", "srt": "application/x-subrip", "vtt": "text/vtt"}[fmt]
    return web.Response(text=body, content_type=ctype, charset="utf-8")


def _transcript_results(record: TaskRecord) -> dict[str, Any]:
    """The results holding the transcript: a complete task's, or a failed one's kept ASR part; else 409."""
    results = record.results
    if record.status == TaskStatus.COMPLETE and results is not None:
        return results
    if record.status == TaskStatus.FAILED and results and "raw_transcript" in results:
        return results
    raise TaskNotFinished(f"task {record.id} is {record.status.value}: it has no transcript")
