"""A small real aiohttp server on a real Unix socket (and TCP) answering maied's v1 JSON shapes.

This is a test double for the CLIENT's tests: the daemon itself is tested elsewhere. Each task follows
a script of status documents; every long-poll (`?wait=`) advances it by one, so that tests are quick
and need no sleeps.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TERMINAL = {"COMPLETE", "FAILED", "CANCELLED"}
TRANSCRIPT = "xin chào các bạn, đây là một bản ghi thử"


def status_doc(task_id: str, status: str, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "task_id": task_id, "status": status, "stage": status, "error": None, "error_code": None,
        "warnings": [], "submitted_at": "2026-01-02T03:04:05+00:00", "started_at": None,
        "completed_at": None, "queue_position": None, "versions": {}, "metrics": {}, "results": None,
    }
    doc.update(extra)
    return doc


def default_script(task_id: str) -> list[dict[str, Any]]:
    """PENDING twice (a long-poll that timed out without a change), then the stages, then COMPLETE."""
    results = {"raw_transcript": TRANSCRIPT, "language": "vi",
               "segments": [{"start": 0.0, "end": 2.5, "text": TRANSCRIPT}]}
    return [
        status_doc(task_id, "PENDING", queue_position=1),
        status_doc(task_id, "PENDING", queue_position=1),
        status_doc(task_id, "PREPROCESSING"),
        status_doc(task_id, "PROCESSING_ASR"),
        status_doc(task_id, "PROCESSING_ASR"),
        status_doc(task_id, "COMPLETE", stage="PROCESSING_ASR", results=results,  # maied keeps the last stage
                   completed_at="2026-01-02T03:05:00+00:00",
                   metrics={"input_duration_seconds": 2.5, "rtf": 0.2}),
    ]


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"code": code, "message": message, "details": {}}}
    return web.json_response(body, status=status, headers=headers)


@dataclass
class Upload:
    fields: dict[str, list[str]]
    filename: str | None = None
    content_type: str | None = None
    size: int = 0
    sha256: str = ""


@dataclass
class StubDaemon:
    api_key: str | None = None
    health_status: str = "healthy"
    max_upload_bytes: int | None = None
    next_script: list[dict[str, Any]] | None = None
    fail_next: web.Response | None = None
    hold_long_polls: bool = False
    poll_failures: list[str] = field(default_factory=list)  # "503" or "drop", one per coming long-poll
    uploads: list[Upload] = field(default_factory=list)
    texts: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    tasks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    socket_path: str = ""
    url: str = ""
    long_poll_started: threading.Event = field(default_factory=threading.Event)

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        self.socket_path = os.path.join(tempfile.gettempdir(), f"maictl-{uuid.uuid4().hex[:10]}.sock")
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("stub daemon did not start")

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(self._app())
        self._loop.run_until_complete(self._runner.setup())
        unix = web.UnixSite(self._runner, self.socket_path)
        tcp = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(unix.start())
        self._loop.run_until_complete(tcp.start())
        port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._release = asyncio.Event()
        ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._release.set)
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)

    # --- state helpers for tests --------------------------------------------------------------------
    def add_task(self, script: list[dict[str, Any]] | None = None, task_id: str | None = None) -> str:
        task_id = task_id or f"t{len(self.tasks) + 1}"
        self.tasks[task_id] = script or default_script(task_id)
        return task_id

    def current(self, task_id: str) -> dict[str, Any]:
        return self.tasks[task_id][0]

    def waits(self) -> list[str]:
        return [q["wait"] for m, p, q in self.requests if p.startswith("/v1/status/") and "wait" in q]

    # --- the app ------------------------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        r = app.router
        r.add_get("/health", self.health)
        r.add_get("/v1/models", self.models)
        r.add_get("/v1/templates", self.templates)
        r.add_get("/v1/templates/{id}", self.template)
        r.add_get("/v1/templates/{id}/schema", self.template_schema)
        r.add_post("/v1/process", self.process)
        r.add_post("/v1/process_text", self.process_text)
        r.add_get("/v1/status/{id}", self.status)
        r.add_get("/v1/tasks", self.list_tasks)
        r.add_post("/v1/tasks/{id}/cancel", self.cancel)
        r.add_post("/v1/tasks/{id}/summarize", self.summarize)
        r.add_delete("/v1/tasks/{id}", self.delete)
        r.add_get("/v1/tasks/{id}/transcript.{fmt}", self.transcript)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path, dict(request.query)))
        if self.fail_next is not None:
            response, self.fail_next = self.fail_next, None
            return response
        if self.api_key and request.path != "/health" and request.headers.get("X-API-Key") != self.api_key:
            return error(401, "UNAUTHORIZED", "missing or wrong API key")
        return await handler(request)

    async def health(self, request: web.Request) -> web.Response:
        doc = {"status": self.health_status, "version": "0.1.0", "queue_depth": 0, "worker_active": False,
               "db_ok": True, "disk_used_percent": 12.5,
               "asr": {"backend": "whisper", "model": "base", "embedded_default": True},
               "llm": {"backend": "none", "model": None}}
        return web.json_response(doc, status=503 if self.health_status == "unhealthy" else 200)

    async def models(self, request: web.Request) -> web.Response:
        data = [{"id": "whisper-1", "object": "model", "created": 0, "owned_by": "maie", "backend": "whisper"}]
        return web.json_response({"object": "list", "data": data,
                                  "asr": [{"backend": "whisper", "model": "base", "present": True,
                                           "size_bytes": 147883078, "device": "cpu", "default": True},
                                          {"backend": "chunkformer", "present": False, "default": False}],
                                  "llm": {"backend": None, "model": None, "present": False}})

    async def templates(self, request: web.Request) -> web.Response:
        return web.json_response({"templates": [{"id": "meeting_notes_v1", "name": "Meeting notes",
                                                 "description": "Decisions and action items"}]})

    async def template(self, request: web.Request) -> web.Response:
        if request.match_info["id"] != "meeting_notes_v1":
            return error(404, "TEMPLATE_NOT_FOUND", f"no template {request.match_info['id']}")
        return web.json_response({"id": "meeting_notes_v1", "name": "Meeting notes"})

    async def template_schema(self, request: web.Request) -> web.Response:
        return web.json_response({"type": "object", "required": ["title"]})

    async def process(self, request: web.Request) -> web.Response:
        reader = await request.multipart()
        upload = Upload(fields={})
        digest = hashlib.sha256()
        while (part := await reader.next()) is not None:
            if part.name == "file":  # type: ignore[union-attr]
                upload.filename = part.filename  # type: ignore[union-attr]
                upload.content_type = part.headers.get("Content-Type")
                while chunk := await part.read_chunk(65536):  # type: ignore[union-attr]
                    upload.size += len(chunk)
                    digest.update(chunk)
                    if self.max_upload_bytes is not None and upload.size > self.max_upload_bytes:
                        return error(413, "FILE_TOO_LARGE", f"the file is over {self.max_upload_bytes} bytes")
            else:
                upload.fields.setdefault(part.name or "", []).append(await part.text())  # type: ignore[union-attr]
        upload.sha256 = digest.hexdigest()
        self.uploads.append(upload)
        task_id = self.add_task(self.next_script)
        return web.json_response({"task_id": task_id, "status": "PENDING"}, status=202)

    async def process_text(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.texts.append(body)
        task_id = self.add_task(self.next_script)
        return web.json_response({"task_id": task_id, "status": "PENDING"}, status=202)

    async def summarize(self, request: web.Request) -> web.Response:
        source = request.match_info["id"]
        if source not in self.tasks:
            return error(404, "TASK_NOT_FOUND", f"no task {source}")
        self.texts.append({"source": source, **await request.json()})
        task_id = self.add_task(self.next_script)
        return web.json_response({"task_id": task_id, "status": "PENDING"}, status=202)

    async def status(self, request: web.Request) -> web.Response:
        task_id = request.match_info["id"]
        if task_id not in self.tasks:
            return error(404, "TASK_NOT_FOUND", f"no task {task_id}")
        script = self.tasks[task_id]
        if "wait" in request.query:
            if self.poll_failures:
                return self._fail_poll(request, self.poll_failures.pop(0))
            if self.hold_long_polls:
                self.long_poll_started.set()
                await self._release.wait()
            if len(script) > 1:
                script.pop(0)
        return web.json_response(script[0])

    def _fail_poll(self, request: web.Request, kind: str) -> web.Response:
        """What a restarting daemon does to a long-poll: answer 503, or drop the connection."""
        if kind == "503":
            return error(503, "SHUTTING_DOWN", "maied is restarting")
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    async def list_tasks(self, request: web.Request) -> web.Response:
        wanted = request.query.get("status")
        docs = [s[0] for s in reversed(self.tasks.values()) if not wanted or s[0]["status"] == wanted]
        limit = int(request.query.get("limit", "50"))
        return web.json_response({"tasks": docs[:limit], "next_cursor": "c2" if len(docs) > limit else None})

    async def cancel(self, request: web.Request) -> web.Response:
        task_id = request.match_info["id"]
        if task_id not in self.tasks:
            return error(404, "TASK_NOT_FOUND", f"no task {task_id}")
        if self.current(task_id)["status"] in TERMINAL:
            return error(409, "TASK_NOT_CANCELLABLE", f"task {task_id} has already ended")
        current = self.current(task_id)["status"]
        if current == "PENDING":  # like maied: a pending task is cancelled at once, a running one is asked to stop
            self.tasks[task_id] = [status_doc(task_id, "CANCELLED")]
            return web.json_response({"task_id": task_id, "status": "CANCELLED", "cancel_requested": False},
                                     status=202)
        self.tasks[task_id] = [self.current(task_id), status_doc(task_id, "CANCELLED")]
        return web.json_response({"task_id": task_id, "status": current, "cancel_requested": True}, status=202)

    async def delete(self, request: web.Request) -> web.Response:
        task_id = request.match_info["id"]
        if task_id not in self.tasks:
            return error(404, "TASK_NOT_FOUND", f"no task {task_id}")
        if self.current(task_id)["status"] not in TERMINAL:
            return error(409, "TASK_NOT_FINISHED", f"task {task_id} is still running")
        del self.tasks[task_id]
        return web.Response(status=204)

    async def transcript(self, request: web.Request) -> web.Response:
        task_id, fmt = request.match_info["id"], request.match_info["fmt"]
        if task_id not in self.tasks:
            return error(404, "TASK_NOT_FOUND", f"no task {task_id}")
        doc = self.current(task_id)
        kept = doc["status"] == "FAILED" and "raw_transcript" in (doc["results"] or {})  # like maied
        if doc["status"] != "COMPLETE" and not kept:
            return error(409, "TASK_NOT_FINISHED", f"task {task_id} is {doc['status']}")
        text = doc["results"]["raw_transcript"]
        bodies = {
            "txt": text + "\n",
            "srt": f"1\n00:00:00,000 --> 00:00:02,500\n{text}\n",
            "vtt": f"WEBVTT\n\n00:00:00.000 --> 00:00:02.500\n{text}\n",
            "json": json.dumps({"segments": doc["results"]["segments"]}),
        }
        if fmt not in bodies:
            return error(404, "NOT_FOUND", f"no format {fmt}")
        return web.Response(text=bodies[fmt], content_type="application/json" if fmt == "json" else "text/plain")
