"""systemd integration of the real daemon: READY/STATUS/WATCHDOG/STOPPING, socket activation; one-shot."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.audio_fixtures import ENGLISH_TEXT, wer
from tests.e2e.daemon_harness import REPO

pytestmark = pytest.mark.slow


def _messages(sock: socket.socket, until: str, limit: int = 50) -> list[str]:
    seen: list[str] = []
    sock.settimeout(30)
    for _ in range(limit):
        seen.extend(sock.recv(4096).decode().split("\n"))
        if until in seen:
            return seen
    raise AssertionError(f"{until} never came: {seen}")


def test_socket_activation_watchdog_and_stopping(tmp_path: Path, models_dir: Path) -> None:
    state = Path(tempfile.mkdtemp(prefix="maie-sd-"))
    api = socket.socket(socket.AF_UNIX)
    api.bind(str(state / "activated.sock"))
    api.listen(16)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(state / "notify.sock"))
    env = dict(os.environ, MAIE_ENV_FILE="/nonexistent", DATA_DIR=str(state / "data"), MODELS_DIR=str(models_dir),
               API_SOCKET=str(state / "not-used.sock"), NOTIFY_SOCKET=str(state / "notify.sock"),
               WATCHDOG_USEC="400000", LISTEN_FDS="1")
    fd = api.fileno()
    # LISTEN_PID must be the daemon's own pid: the shell sets it, then execs into maied with fd 3 = our socket.
    proc = subprocess.Popen(
        ["bash", "-c", f'LISTEN_PID=$$ exec "{sys.executable}" -m maied.cli serve 3<&{fd}'],
        env=env, cwd=REPO, pass_fds=(fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seen = _messages(notify, "READY=1")
        assert any(m.startswith("STATUS=") for m in seen)
        assert "WATCHDOG=1" in _messages(notify, "WATCHDOG=1")
        client = httpx.Client(transport=httpx.HTTPTransport(uds=str(state / "activated.sock")), base_url="http://x")
        assert client.get("/health").json()["status"] == "healthy"
        assert not (state / "not-used.sock").exists(), "an activated daemon does not bind its own socket"
        proc.terminate()
        assert "STOPPING=1" in _messages(notify, "STOPPING=1")
        assert proc.wait(30) == 0
        assert (state / "activated.sock").exists(), "the activated socket belongs to systemd: left in place"
    finally:
        proc.kill()
        api.close()
        notify.close()


def test_maied_transcribe_one_shot(english_wav: Path, models_dir: Path, tmp_path: Path) -> None:
    env = dict(os.environ, MAIE_ENV_FILE="/nonexistent", DATA_DIR=str(tmp_path / "data"), MODELS_DIR=str(models_dir))
    out = subprocess.run([sys.executable, "-m", "maied.cli", "transcribe", str(english_wav), "--language", "en"],
                         env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert wer(ENGLISH_TEXT, out.stdout) <= 0.2
    assert "EMBEDDED_MODEL" in out.stderr and "PROCESSING_ASR" in out.stderr
