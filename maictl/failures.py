"""Exit codes and the one line maictl prints on stderr when something did not work."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from maictl.client import ClientError


class ExitCode(IntEnum):
    OK = 0
    TASK_FAILED = 1  # the task failed or was cancelled
    USAGE = 2
    UNREACHABLE = 3  # cannot reach the daemon
    REJECTED = 4  # the daemon answered 4xx
    DAEMON_ERROR = 5  # the daemon answered 5xx
    SOFTWARE = 70  # a bug in maictl (sysexits EX_SOFTWARE)
    IO_ERROR = 74  # a local file could not be read or written (sysexits EX_IOERR)
    INTERRUPTED = 130


class MaictlError(Exception):
    """A failure decided by maictl itself (not a transport or HTTP error): code, message, exit code."""

    def __init__(self, code: str, message: str, exit_code: ExitCode):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.exit_code = exit_code


def exit_code_of(error: ClientError) -> ExitCode:
    if error.http_status is None:
        return ExitCode.UNREACHABLE
    if error.http_status >= 500:
        return ExitCode.DAEMON_ERROR
    return ExitCode.REJECTED


def error_line(code: str, message: str) -> str:
    """`maictl: error: CODE: message`, always one line."""
    flat = " ".join(str(message).split())
    return f"maictl: error: {code}: {flat}"


def task_ended_error(doc: dict[str, Any]) -> MaictlError | None:
    """The error for a task that ended FAILED or CANCELLED; None for any other state."""
    task_id = doc.get("task_id")
    status = doc.get("status")
    if status == "FAILED":
        code = str(doc.get("error_code") or "TASK_FAILED")
        stage = doc.get("stage")
        where = f" in {stage}" if stage and stage != "FAILED" else ""
        return MaictlError(code, f"task {task_id} failed{where}: {doc.get('error') or 'no message'}",
                           ExitCode.TASK_FAILED)
    if status == "CANCELLED":
        return MaictlError("CANCELLED", f"task {task_id} was cancelled", ExitCode.TASK_FAILED)
    return None
