"""Smaller hostile cases against the real daemon: a regular file where API_SOCKET should be is kept and
the daemon refuses to start with one line."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import Daemon

pytestmark = pytest.mark.slow


def test_a_regular_file_at_api_socket_is_kept_and_start_is_refused() -> None:
    state = Path(tempfile.mkdtemp(prefix="maie-sockfile-", dir=tempfile.gettempdir()))
    daemon = Daemon(state, {"LLM_BACKEND": "none"})
    daemon.socket.write_text("precious data\n")
    try:
        with pytest.raises(RuntimeError, match="maied exited") as err:
            daemon.start(timeout=60)
        assert daemon.proc is not None and daemon.proc.returncode != 0
        assert daemon.socket.read_text() == "precious data\n", "the file at API_SOCKET was changed"
        errors = [line for line in daemon.log.read_text().splitlines() if "not a socket" in line]
        assert len(errors) == 1, str(err.value)
        print(f"\n{errors[0]}")
    finally:
        shutil.rmtree(state, ignore_errors=True)
