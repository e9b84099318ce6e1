"""Task routes: submit (audio, text), status with long-poll, list, cancel, delete, transcripts."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from typing import Any

from aiohttp import web

from maied.api import forms, subtitles, upload
from maied.api.context import ApiContext, ctx_of, identity_of
from maied.api.views import status_body, summary_body
from maied.domain import TaskKind, TaskStatus
from maied.errors import (
    DiskFull,
    InvalidRequest,
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


def _admission(ctx: ApiContext) -> None:
    """Cheap refusals before a byte of the upload is read."""
    if ctx.facts.shutting_down():
        raise ShuttingDown("maied is shutting down; retry in a moment")
    if ctx.store.pending_count() >= ctx.settings.MAX_QUEUE_DEPTH:
        raise QueueFull(f"the queue is full ({ctx.settings.MAX_QUEUE_DEPTH} tasks waiting)",
                        details={"retry_after": 30})
    used = disk_used_percent(ctx)
    if used is not None and used > ctx.settings.DISK_THRESHOLD:
        raise DiskFull(f"the data disk is {used:.1f}% full (DISK_THRESHOLD {ctx.settings.DISK_THRESHOLD:g}%):"
                       " uploads are refused until space is freed (maied maintenance clean-all)",
                       details={"disk_used_percent": round(used, 1)})


def disk_used_percent(ctx: ApiContext) -> float | None:
    try:
        from maied.diskusage import disk_used_percent as used
    except ImportError:
        return None
    return used(ctx.settings.audio_dir if ctx.settings.audio_dir.exists() else ctx.settings.DATA_DIR)


def template_exists(ctx: ApiContext, template_id: str) -> bool:
    dirs = [ctx.settings.templates_dir]
    if ctx.builtin_templates is not None:
        dirs.append(ctx.builtin_templates)
    return any((d / template_id / "schema.json").is_file() for d in dirs)


def _submit(ctx: ApiContext, task: NewTask) -> web.Response:
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
    return web.json_response({"task_id": record.id, "status": record.status.value}, status=202)


@routes.post("/v1/process")
async def process(request: web.Request) -> web.Response:
    ctx, who = ctx_of(request), identity_of(request)
    _admission(ctx)
    task_id = new_task_id()
    task_dir = ctx.settings.audio_dir / task_id
    try:
        received = await upload.receive_upload(request, task_dir, ctx.settings.max_file_bytes)
        task_request = forms.build_request(forms.form_fields_to_dict(received.fields), audio=True)
        task_request.filename = received.filename
        forms.check_feasible(task_request, ctx.caps, ctx.settings.ASR_BACKEND, audio=True,
                             template_exists=lambda t: template_exists(ctx, t))
        assert received.path is not None
        info = await asyncio.to_thread(_probe, received.path)
        task = NewTask(id=task_id, kind=TaskKind.AUDIO, owner=who.owner, request=task_request,
                       audio_path=str(received.path), input_duration=info)
        return _submit(ctx, task)
    except BaseException:
        upload.discard(task_dir)
        raise


def _probe(path: Any) -> float | None:
    info = probe_media(path)
    if not info.has_audio:
        raise UnsupportedMedia("the file has no audio stream")
    return info.duration


@routes.post("/v1/process_text")
async def process_text(request: web.Request) -> web.Response:
    ctx, who = ctx_of(request), identity_of(request)
    _admission(ctx)
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidRequest("the body must be JSON: {\"text\", \"features\", \"template_id\"}") from None
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
    if record.status != TaskStatus.COMPLETE or record.results is None:
        raise TaskNotFinished(f"task {record.id} is {record.status.value}: it has no transcript")
    results, fmt = record.results, request.match_info["fmt"]
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
