"""The API application served in this process, on a real Unix socket, from a thread's event loop: request
validation is tested without starting a daemon per case (no worker, no supervisor: nothing runs)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from maied.api.app import create_app
from maied.api.changes import ChangeNotifier
from maied.api.context import ApiContext
from maied.capabilities import probe_capabilities
from maied.settings import load_settings
from maied.store import TaskStore
from maied.templates import builtin_templates_dir


class InProcessApi:
    def __init__(self, state: Path, settings: dict[str, str]):
        self.state = state
        self.socket = state / "api.sock"
        self.data_dir = state / "data"
        self.settings = load_settings({"MAIE_ENV_FILE": str(state / "none.env"), "DATA_DIR": str(self.data_dir),
                                       "LOG_DIR": str(state / "logs"), **settings})
        self.store = TaskStore(self.settings.db_path)
        self.loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None

    def start(self) -> None:
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        assert ready.wait(30), "the in-process API did not start"

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        ctx = ApiContext(self.settings, self.store, ChangeNotifier(self.loop), builtin_templates=builtin_templates_dir(),
                         caps=probe_capabilities(self.settings))
        self._runner = web.AppRunner(create_app(ctx))
        self.loop.run_until_complete(self._runner.setup())
        self.loop.run_until_complete(web.UnixSite(self._runner, str(self.socket)).start())
        ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.store.close()

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket)), base_url="http://maied", timeout=60)

    def submit(self, path: Path, **fields: Any) -> httpx.Response:
        with self.client() as c, open(path, "rb") as fh:
            return c.post("/v1/process", files={"file": (path.name, fh)}, data={k: str(v) for k, v in fields.items()})


@contextmanager
def inprocess_api(**settings: str) -> Iterator[InProcessApi]:
    state = Path(tempfile.mkdtemp(prefix="maie-api-", dir=tempfile.gettempdir()))
    api = InProcessApi(state, settings)
    api.start()
    try:
        yield api
    finally:
        api.stop()
        shutil.rmtree(state, ignore_errors=True)
