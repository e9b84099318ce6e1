"""systemd integration without libsystemd: sd_notify, the watchdog interval, socket activation."""

from __future__ import annotations

import contextlib
import os
import socket

SD_LISTEN_FDS_START = 3


def notify(*lines: str, environ: dict[str, str] | None = None) -> bool:
    """Send `READY=1`, `STATUS=...`, `WATCHDOG=1`, `STOPPING=1` to $NOTIFY_SOCKET; False if not under systemd."""
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.connect(address)
            sock.sendall("\n".join(lines).encode())
        except OSError:
            return False
    return True


def watchdog_interval(environ: dict[str, str] | None = None) -> float | None:
    """Half of WatchdogSec (the rhythm systemd recommends), or None when no watchdog is set for us."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    with contextlib.suppress(ValueError):
        return int(usec) / 1_000_000 / 2
    return None


def listen_sockets(environ: dict[str, str] | None = None) -> list[socket.socket]:
    """Sockets passed by socket activation (maied.socket), in order; [] when run by hand."""
    env = os.environ if environ is None else environ
    if env.get("LISTEN_PID") != str(os.getpid()):
        return []
    try:
        count = int(env.get("LISTEN_FDS", "0"))
    except ValueError:
        return []
    sockets = [socket.socket(fileno=SD_LISTEN_FDS_START + i) for i in range(count)]
    for sock in sockets:
        sock.setblocking(False)
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)  # never passed on to the worker child
    return sockets
