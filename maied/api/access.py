"""Who is calling: the peer's uid over the Unix socket (SO_PEERCRED), or the API key over TCP."""

from __future__ import annotations

import grp
import hmac
import os
import pwd
import socket
import struct
from dataclasses import dataclass
from functools import lru_cache

from aiohttp import web

from maied.errors import Unauthorized
from maied.settings import Settings

API_KEY_OWNER = "api-key"
OPEN_PATHS = frozenset({"/health"})


@dataclass(frozen=True)
class Identity:
    owner: str
    uid: int | None
    is_admin: bool
    via_tcp: bool

    def may_access(self, owner: str) -> bool:
        """The owner, root and members of ADMIN_GROUP see a task; others get 404."""
        return self.is_admin or self.owner == owner


def peer_uid(request: web.Request) -> int | None:
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is None or sock.family != socket.AF_UNIX:
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


@lru_cache(maxsize=256)
def uid_in_group(uid: int, group: str) -> bool:
    try:
        gid = grp.getgrnam(group).gr_gid
        user = pwd.getpwuid(uid)
    except KeyError:
        return False
    return gid in os.getgrouplist(user.pw_name, user.pw_gid)


def key_matches(given: str | None, expected: str) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())  # type: ignore[union-attr]


def bearer_token(header: str | None) -> str | None:
    """The KEY of `Authorization: Bearer KEY` (what the OpenAI SDKs send), else None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def identify(request: web.Request, settings: Settings) -> Identity:
    """Raise Unauthorized where a key is needed and missing or wrong."""
    uid = peer_uid(request)
    via_tcp = uid is None
    needs_key = via_tcp or settings.REQUIRE_API_KEY_ON_SOCKET
    given = request.headers.get("X-API-Key") or bearer_token(request.headers.get("Authorization"))
    if needs_key and request.path not in OPEN_PATHS and not key_matches(given, settings.SECRET_API_KEY):
        raise Unauthorized("missing or wrong API key (X-API-Key or Authorization: Bearer)")
    if via_tcp:
        return Identity(owner=API_KEY_OWNER, uid=None, is_admin=False, via_tcp=True)
    assert uid is not None
    is_admin = uid == 0 or uid == os.getuid() or uid_in_group(uid, settings.ADMIN_GROUP)
    return Identity(owner=socket_owner(uid, settings), uid=uid, is_admin=is_admin, via_tcp=False)


def socket_owner(uid: int, settings: Settings) -> str:
    """`uid:1000` on one host; `uid:1000@WORKER_NAME` when hosts share the queue (uid 1000 on two hosts is
    not one person)."""
    return f"uid:{uid}@{settings.WORKER_NAME}" if settings.DATABASE_URL else f"uid:{uid}"
