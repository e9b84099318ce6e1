"""Exit codes 2/3/4/5 and the one-line error format, against a real server on a real socket."""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from pathlib import Path

import pytest
from aiohttp import web
from maictl_stub import StubDaemon, error, status_doc

ERROR_LINE = r"^maictl: error: [A-Z_0-9]+: .+$"


def assert_one_error_line(stderr: str, code: str, *fragments: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"maictl: error: {code}: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in stderr


# --- 2: usage ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, fragment", [
    (["submit", "/nonexistent/a.wav"], "does not exist"),
    (["submit", "/dev/zero"], "/dev/zero is not a regular file"),
    (["submit", __file__, "--features", "transcribe"], "'transcribe' is not one of"),
    (["submit", __file__, "--features", "summary"], "needs --template"),
    (["submit", __file__, "--backend", "kaldi"], "'kaldi' is not one of"),
    (["result", "t1", "--format", "docx"], "'docx' is not one of"),
    (["list", "--limit", "0"], "--limit"),
    (["templates", "--schema"], "--schema needs a template ID"),
    (["status"], "Missing argument 'ID'"),
    (["frobnicate"], "No such command 'frobnicate'"),
])
def test_usage_errors_exit_2_without_contacting_the_daemon(stub: StubDaemon, maictl, args: list[str],
                                                           fragment: str) -> None:
    result = maictl(*args)
    assert result.exit_code == 2
    assert_one_error_line(result.stderr, "USAGE", fragment)
    assert stub.requests == []


def test_empty_text_is_a_usage_error(stub: StubDaemon, maictl) -> None:
    result = maictl("submit-text", "-", input="  \n")
    assert result.exit_code == 2
    assert_one_error_line(result.stderr, "USAGE", "empty")


# --- 3: cannot reach the daemon ---------------------------------------------------------------------
def test_missing_socket_exits_3_and_says_what_to_do(maictl) -> None:
    path = os.path.join(tempfile.gettempdir(), f"maictl-none-{uuid.uuid4().hex[:8]}.sock")
    result = maictl("--socket", path, "health")
    assert result.exit_code == 3
    assert_one_error_line(result.stderr, "UNREACHABLE", f"cannot reach maied at {path}: no such file",
                          "systemctl status maied")


def test_stale_socket_exits_3_connection_refused(maictl) -> None:
    path = os.path.join(tempfile.gettempdir(), f"maictl-stale-{uuid.uuid4().hex[:8]}.sock")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)  # bound, never listening: what a crashed daemon leaves behind
    try:
        result = maictl("--socket", path, "status", "t1")
    finally:
        sock.close()
        os.unlink(path)
    assert result.exit_code == 3
    assert_one_error_line(result.stderr, "UNREACHABLE", "connection refused")


def test_closed_tcp_port_exits_3(maictl) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = maictl("--url", f"http://127.0.0.1:{port}", "list")
    assert result.exit_code == 3
    assert_one_error_line(result.stderr, "UNREACHABLE", f"http://127.0.0.1:{port}")


def test_env_socket_is_used(stub: StubDaemon, maictl) -> None:
    path = os.path.join(tempfile.gettempdir(), "maictl-env-nowhere.sock")
    result = maictl("health", env={"MAIE_SOCKET": path})
    assert result.exit_code == 3
    assert path in result.stderr


# --- 4: rejected by the daemon ----------------------------------------------------------------------
def test_unknown_task_exits_4_with_the_daemons_code(stub: StubDaemon, maictl) -> None:
    result = maictl("status", "nope")
    assert result.exit_code == 4
    assert_one_error_line(result.stderr, "TASK_NOT_FOUND", "no task nope")


def test_queue_full_exits_4_and_shows_retry_after(stub: StubDaemon, maictl) -> None:
    stub.fail_next = error(429, "QUEUE_FULL", "50 tasks are waiting", headers={"Retry-After": "30"})
    result = maictl("submit", __file__)
    assert result.exit_code == 4
    assert_one_error_line(result.stderr, "QUEUE_FULL", "50 tasks are waiting (retry after 30 s)")


def test_file_rejected_while_streaming_exits_4(stub: StubDaemon, maictl, tmp_path: Path) -> None:
    """The daemon answers 413 part-way through the upload; the client reports it, not a broken pipe."""
    big = tmp_path / "big.wav"
    big.write_bytes(os.urandom(8 << 20))
    stub.max_upload_bytes = 1 << 20
    result = maictl("submit", str(big))
    assert result.exit_code == 4
    assert_one_error_line(result.stderr, "FILE_TOO_LARGE")


def test_cancel_of_a_finished_task_exits_4(stub: StubDaemon, maictl) -> None:
    task_id = stub.add_task([status_doc("t1", "COMPLETE")])
    result = maictl("cancel", task_id)
    assert result.exit_code == 4
    assert_one_error_line(result.stderr, "TASK_NOT_CANCELLABLE")


def test_delete_of_a_running_task_exits_4(stub: StubDaemon, maictl) -> None:
    task_id = stub.add_task([status_doc("t1", "PROCESSING_ASR")])
    result = maictl("delete", task_id)
    assert result.exit_code == 4
    assert_one_error_line(result.stderr, "TASK_NOT_FINISHED")


def test_wrong_api_key_over_tcp_exits_4(stub: StubDaemon, maictl) -> None:
    stub.api_key = "k" * 40
    result = maictl("--url", stub.url, "--api-key", "wrong", "list")
    assert result.exit_code == 4
    assert_one_error_line(result.stderr, "UNAUTHORIZED")


# --- 5: daemon error --------------------------------------------------------------------------------
@pytest.mark.parametrize("response, code, fragment", [
    (lambda: error(500, "INTERNAL_ERROR", "database is locked"), "INTERNAL_ERROR", "database is locked"),
    (lambda: error(503, "SHUTTING_DOWN", "maied is stopping"), "SHUTTING_DOWN", "maied is stopping"),
    (lambda: error(507, "DISK_FULL", "data disk at 93%"), "DISK_FULL", "93%"),
    (lambda: web.Response(status=502, text="<html>Bad Gateway\nproxy</html>"), "HTTP_502", "Bad Gateway"),
])
def test_daemon_errors_exit_5(stub: StubDaemon, maictl, response, code: str, fragment: str) -> None:
    stub.fail_next = response()
    result = maictl("list")
    assert result.exit_code == 5
    assert_one_error_line(result.stderr, code, fragment)


def test_unhealthy_daemon_prints_health_and_exits_5(stub: StubDaemon, maictl) -> None:
    stub.health_status = "unhealthy"
    result = maictl("health", "--json")
    assert result.exit_code == 5
    assert '"unhealthy"' in result.stdout
