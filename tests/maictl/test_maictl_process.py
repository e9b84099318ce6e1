"""maictl as a real process: the entry point, piped and terminal output, and Ctrl-C while waiting."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from maictl_stub import TRANSCRIPT, StubDaemon

from maictl.cli import cli

REPO = Path(__file__).resolve().parents[2]


def maictl_process(socket_path: str, *args: str, **kwargs: object) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MAIE_SOCKET": socket_path}
    for name in ("MAIE_URL", "MAIE_API_KEY", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE"):
        env.pop(name, None)
    return subprocess.Popen([sys.executable, "-m", "maictl", *args], env=env, **kwargs)  # type: ignore[call-overload]


def test_entry_point_exit_code_and_one_line_error(tmp_path: Path) -> None:
    proc = maictl_process(str(tmp_path / "nowhere.sock"), "health", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3
    assert out == b""
    assert err.decode().count("\n") == 1 and err.startswith(b"maictl: error: UNREACHABLE: cannot reach maied")


def test_piped_wait_prints_plain_lines(stub: StubDaemon, tmp_path: Path) -> None:
    audio = tmp_path / "a.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(audio), "synth", "0.5", "sine", "300"], check=True)
    proc = maictl_process(stub.socket_path, "submit", str(audio), "--wait",
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.decode() == TRANSCRIPT + "\n"
    lines = err.decode().splitlines()
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d t1 [A-Z_]+.*", line) for line in lines), lines
    assert [line.split()[2].rstrip(",") for line in lines] == ["PENDING", "PREPROCESSING", "PROCESSING_ASR", "COMPLETE"]


def read_all(fd: int, proc: subprocess.Popen[bytes]) -> bytes:
    """Drain a pty until the process has exited and nothing is left to read."""
    data = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the other end is closed
                break
            if not chunk:
                break
            data += chunk
        elif proc.poll() is not None:
            break
    return data


def test_terminal_wait_shows_the_rich_stage_display(stub: StubDaemon, tmp_path: Path) -> None:
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF" + bytes(2000))
    main_fd, child_fd = pty.openpty()
    proc = maictl_process(stub.socket_path, "submit", str(audio), "--wait", stdout=subprocess.PIPE, stderr=child_fd)
    os.close(child_fd)
    try:
        screen = read_all(main_fd, proc)
        out = proc.stdout.read() if proc.stdout else b""  # type: ignore[union-attr]
        proc.wait(timeout=30)
    finally:
        os.close(main_fd)
    assert proc.returncode == 0
    assert out.decode() == TRANSCRIPT + "\n"
    text = screen.decode(errors="replace")
    assert "\x1b[" in text  # terminal control codes: the live display, not plain lines
    for stage in ("PENDING", "PREPROCESSING", "PROCESSING_ASR", "COMPLETE"):
        assert stage in text


def test_ctrl_c_while_waiting_leaves_the_task_running(stub: StubDaemon, tmp_path: Path) -> None:
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF" + bytes(2000))
    stub.hold_long_polls = True
    proc = maictl_process(stub.socket_path, "submit", str(audio), "--wait",
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert stub.long_poll_started.wait(30), "maictl never long-polled"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    last = err.decode().splitlines()[-1]
    assert last.startswith("maictl: error: INTERRUPTED: stopped waiting; task t1 goes on in maied")
    assert "Traceback" not in err.decode()
    assert not any(m == "POST" and p.endswith("/cancel") for m, p, _ in stub.requests)


def run_as_nobody(socket_path: str, *args: str) -> tuple[int, str]:
    """Run maictl in a forked child that has dropped root for `nobody` (the interpreter is already loaded,
    so it need not be readable by that user); return its exit code and stderr."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            result = CliRunner(env={"MAIE_SOCKET": socket_path}).invoke(cli, list(args))
            os.write(write_fd, result.stderr.encode())
            code = result.exit_code
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        stderr = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
@pytest.mark.parametrize("layout", ["socket 0600", "directory 0700"])
def test_a_user_outside_the_group_is_told_to_join_it(layout: str) -> None:
    """What a user who is not in the `maie` group sees: the socket (or its directory) refuses them."""
    base = Path(tempfile.mkdtemp(prefix="maictl-perm-", dir=tempfile.gettempdir()))
    path = base / "s.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(1)
    try:
        os.chmod(base, 0o700 if layout == "directory 0700" else 0o755)
        os.chmod(path, 0o600)
        code, err = run_as_nobody(str(path), "health")
    finally:
        listener.close()
        shutil.rmtree(base)
    assert code == 3, err
    assert err == (f"maictl: error: UNREACHABLE: cannot reach maied at {path}: permission denied "
                   "(join the `maie` group: `sudo usermod -aG maie $USER`, then log in again)\n")
