"""The template routes through the real aiohttp app: reads for everyone, writes for the admin group only
(the socket peer here is this test's own uid, an admin; a TCP client with the API key is not)."""

from __future__ import annotations

import asyncio
import socket
import tempfile
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from maied.api.app import create_app
from maied.api.changes import ChangeNotifier
from maied.api.context import ApiContext
from maied.settings import Settings
from maied.store import TaskStore

KEY = "k" * 40
TINY = {
    "id": "tiny",
    "schema": {"type": "object", "additionalProperties": False, "required": ["gist"],
               "properties": {"gist": {"type": "string", "maxLength": 80}}},
    "prompt": "Summarize:\n{{ transcript }}",
    "example": {"gist": "a meeting"},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _scenario(tmp_path: Path) -> dict[str, Any]:
    sock = Path(tempfile.gettempdir()) / f"maie-tpl-{uuid.uuid4().hex[:8]}.sock"
    port = _free_port()
    settings = Settings(DATA_DIR=tmp_path, API_PORT=port, SECRET_API_KEY=KEY)
    ctx = ApiContext(settings=settings, store=TaskStore(settings.db_path),
                     changes=ChangeNotifier(asyncio.get_running_loop()))
    runner = web.AppRunner(create_app(ctx))
    await runner.setup()
    await web.UnixSite(runner, str(sock)).start()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    seen: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(sock))) as admin, \
                aiohttp.ClientSession(headers={"X-API-Key": KEY}) as tcp:
            base, tbase = "http://maie", f"http://127.0.0.1:{port}"
            async with admin.get(f"{base}/v1/templates") as r:
                seen["list"] = (r.status, await r.json())
            async with tcp.get(f"{tbase}/v1/templates/meeting-notes") as r:
                seen["get"] = (r.status, await r.json())
            async with tcp.get(f"{tbase}/v1/templates/meeting-notes/schema") as r:
                seen["schema"] = (r.status, await r.json())
            async with tcp.get(f"{tbase}/v1/templates/nope") as r:
                seen["missing"] = (r.status, await r.json())
            async with tcp.post(f"{tbase}/v1/templates", json=TINY) as r:
                seen["tcp_create"] = (r.status, await r.json())
            async with admin.post(f"{base}/v1/templates", json={**TINY, "prompt": "no variable"}) as r:
                seen["invalid_create"] = (r.status, await r.json())
            async with admin.post(f"{base}/v1/templates", json=TINY) as r:
                seen["create"] = (r.status, await r.json())
            async with admin.put(f"{base}/v1/templates/tiny", json={**TINY, "prompt": "Gist:\n{{ transcript }}"}) as r:
                seen["replace"] = (r.status, await r.json())
            async with admin.put(f"{base}/v1/templates/meeting-notes", json=TINY) as r:
                seen["replace_builtin"] = (r.status, await r.json())
            async with tcp.delete(f"{tbase}/v1/templates/tiny") as r:
                seen["tcp_delete"] = r.status
            async with admin.delete(f"{base}/v1/templates/tiny") as r:
                seen["delete"] = r.status
            async with admin.get(f"{base}/v1/templates/tiny") as r:
                seen["after_delete"] = r.status
    finally:
        await runner.cleanup()
        sock.unlink(missing_ok=True)
    return seen


def test_template_routes(tmp_path: Path) -> None:
    seen = asyncio.run(_scenario(tmp_path))
    status, body = seen["list"]
    assert status == 200 and "meeting-notes" in {t["id"] for t in body["templates"]}
    assert seen["get"][0] == 200 and seen["get"][1]["schema"]["additionalProperties"] is False
    assert seen["schema"][0] == 200 and "action_items" in seen["schema"][1]["properties"]
    assert seen["missing"][0] == 404 and seen["missing"][1]["error"]["code"] == "TEMPLATE_NOT_FOUND"
    assert seen["tcp_create"][0] == 403 and seen["tcp_create"][1]["error"]["code"] == "FORBIDDEN"
    assert seen["invalid_create"][0] == 400 and "transcript" in seen["invalid_create"][1]["error"]["message"]
    assert seen["create"][0] == 201 and seen["create"][1]["id"] == "tiny"
    assert seen["replace"][0] == 200 and seen["replace"][1]["prompt"].startswith("Gist")
    assert seen["replace_builtin"][0] == 409
    assert seen["tcp_delete"] == 403
    assert seen["delete"] == 200 and seen["after_delete"] == 404
    assert not (tmp_path / "templates" / "tiny").exists()
