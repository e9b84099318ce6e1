"""OpenAI's audio API (POST /v1/audio/transcriptions and /v1/audio/translations) over the durable queue.

Each request becomes an ordinary task (owned, listed, cancellable, kept in the store); the answer waits for
its end on the store's change notification and carries its id in X-Maie-Task-Id. A client that goes away
loses nothing: the task runs on and its result stays readable through v1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from maied.api import openai_format
from maied.api.context import ApiContext, ctx_of
from maied.api.openai_request import parse_audio_form
from maied.api.routes_tasks import receive_audio_task, submit_task
from maied.domain import TaskRequest, TaskStatus
from maied.errors import ShuttingDown
from maied.store import TaskRecord

TASK_HEADER = "X-Maie-Task-Id"
HEARTBEAT_SECONDS = 15.0
CLIENT_FAILURES = frozenset({"AUDIO_DECODE_ERROR", "AUDIO_TOO_SHORT", "AUDIO_TOO_LONG"})
routes = web.RouteTableDef()


@routes.post("/v1/audio/transcriptions")
async def transcriptions(request: web.Request) -> web.StreamResponse:
    return await _audio(request, translate=False)


@routes.post("/v1/audio/translations")
async def translations(request: web.Request) -> web.StreamResponse:
    return await _audio(request, translate=True)


async def _audio(request: web.Request, *, translate: bool) -> web.StreamResponse:
    ctx = ctx_of(request)
    record, answer = await _queue(request, ctx, translate)
    if answer.stream:
        return await _stream(request, ctx, record)
    try:
        done = await await_end(ctx, record)
    except ShuttingDown as exc:
        error = openai_format.error_body(exc.status, exc.code, exc.message)
        return web.json_response(error, status=exc.status, headers={TASK_HEADER: record.id, "x-should-retry": "false"})
    if done.status != TaskStatus.COMPLETE or done.results is None:
        return failure_response(done)
    body, ctype = openai_format.render(answer, done.results, _duration(done))
    return web.Response(text=body, content_type=ctype, charset="utf-8", headers={TASK_HEADER: done.id})


async def _queue(request: web.Request, ctx: ApiContext,
                 translate: bool) -> tuple[TaskRecord, openai_format.Answer]:
    """Receive the upload and queue it as a task, exactly as POST /v1/process does."""
    def parse(fields: dict[str, list[str]], filename: str | None) -> tuple[TaskRequest, openai_format.Answer]:
        return parse_audio_form(fields, ctx.settings, translate=translate, filename=filename)

    task, answer = await receive_audio_task(request, ctx, parse)
    return submit_task(ctx, task), answer


async def await_end(ctx: ApiContext, record: TaskRecord) -> TaskRecord:
    """The task once it is COMPLETE, FAILED or CANCELLED, woken by the store's change notification;
    503 when the daemon begins to stop first (the task stays queued and runs after the restart)."""
    while True:
        event = ctx.changes.event_for(record.id)  # before the read, so that no change is missed
        record = ctx.store.require(record.id)
        if record.status.is_terminal:
            return record
        stopping = ctx.facts.stopping
        if stopping is not None and stopping.is_set():
            raise ShuttingDown(f"maied is stopping; task {record.id} stays queued: read its result with "
                               f"GET /v1/status/{record.id}", details={"task_id": record.id})
        await _first_of(event, stopping)


async def _first_of(event: asyncio.Event, stopping: asyncio.Event | None) -> None:
    waits = [asyncio.ensure_future(event.wait())]
    if stopping is not None:
        waits.append(asyncio.ensure_future(stopping.wait()))
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


def _duration(record: TaskRecord) -> float | None:
    value = record.metrics.get("input_duration_seconds") if record.metrics else None
    return float(value) if isinstance(value, int | float) else record.input_duration


def failure_body(record: TaskRecord) -> tuple[int, dict[str, Any]]:
    """A task that ended without a transcript, in OpenAI's error shape (the status says whose fault)."""
    if record.status == TaskStatus.CANCELLED:
        status, code, message = 409, "TASK_CANCELLED", f"task {record.id} was cancelled"
    else:
        code = record.error_code or "ASR_PROCESSING_ERROR"
        status, message = (400 if code in CLIENT_FAILURES else 500), record.error or code
    return status, openai_format.error_body(status, code, message)


def failure_response(record: TaskRecord) -> web.Response:
    status, body = failure_body(record)
    # Resubmitting the same audio gives the same end: the OpenAI SDKs do not retry with this header.
    return web.json_response(body, status=status, headers={TASK_HEADER: record.id, "x-should-retry": "false"})


async def _stream(request: web.Request, ctx: ApiContext, record: TaskRecord) -> web.StreamResponse:
    """Server-sent events: `transcript.text.delta` per segment, then `transcript.text.done`. The headers
    (with the task id) go out at once; the events when the task has ended."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           TASK_HEADER: record.id})
    await response.prepare(request)
    beat = asyncio.ensure_future(_heartbeat(response))
    try:
        done = await await_end(ctx, record)
    except ShuttingDown as exc:
        events = [openai_format.error_body(exc.status, exc.code, exc.message)]
    else:
        if done.status == TaskStatus.COMPLETE and done.results is not None:
            events = openai_format.stream_events(done.results, _duration(done))
        else:
            events = [failure_body(done)[1]]
    finally:
        beat.cancel()
    with contextlib.suppress(ConnectionError):  # the client left: the task and its result stay
        for event in events:
            await response.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
        await response.write_eof()
    return response


async def _heartbeat(response: web.StreamResponse) -> None:
    """An SSE comment every HEARTBEAT_SECONDS while the task runs, so that no client or proxy read timeout
    ends a long wait (clients ignore comments)."""
    with contextlib.suppress(ConnectionError):
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await response.write(b": waiting for the task\n\n")
