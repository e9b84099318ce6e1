"""Connections that never end: bounds on what a client may hold open.

- Headers: a connection must send a whole request head within HTTP_HEADER_TIMEOUT of opening (or of its
  previous answer); aiohttp's keep-alive timer closes it otherwise (half-sent headers included).
- Bodies: a request body that sends nothing for HTTP_BODY_IDLE_TIMEOUT is answered 408 and closed
  (`read_within`, used by every body read).
- Count: past MAX_CONNECTIONS open connections, a new one is closed at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from aiohttp import web

from maied.errors import RequestTimeout
from maied.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
LINGER_SECONDS = 2.0
"""After an answer given before the body was read (408, 413, 415), the rest is discarded for at most this."""
BODY_IDLE_SECONDS = [60.0]
"""HTTP_BODY_IDLE_TIMEOUT, set by the daemon at start (runner_options)."""


def runner_options(settings: Settings) -> dict[str, Any]:
    """For web.AppRunner: bodies are never inflated (see app.encoding_middleware); idle or half-sent heads
    are closed after HTTP_HEADER_TIMEOUT; a refused body is discarded for at most LINGER_SECONDS."""
    BODY_IDLE_SECONDS[0] = settings.HTTP_BODY_IDLE_TIMEOUT
    return {"auto_decompress": False, "keepalive_timeout": settings.HTTP_HEADER_TIMEOUT,
            "lingering_time": LINGER_SECONDS}


async def read_within(read: Awaitable[T], seconds: float | None = None) -> T:
    """One read of a request body; 408 REQUEST_TIMEOUT when the client sends nothing for `seconds`."""
    seconds = BODY_IDLE_SECONDS[0] if seconds is None else seconds
    try:
        return await asyncio.wait_for(read, seconds)
    except TimeoutError:
        raise RequestTimeout(f"the request body sent nothing for {seconds:g} s") from None


def cap_connections(server: web.Server, limit: int) -> None:
    """Close new connections at once while `limit` are open."""
    original = server.connection_made

    def connection_made(handler: Any, transport: asyncio.Transport) -> None:
        original(handler, transport)
        if len(server.connections) > limit:
            log.warning("more than %d connections open: closing a new one", limit,
                        extra={"event": "connection_refused"})
            transport.close()

    server.connection_made = connection_made  # type: ignore[method-assign]
