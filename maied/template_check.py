"""Validate an untrusted template in a separate, bounded process.

A template uploaded by an admin runs Jinja2 and JSON Schema on input nobody has checked: a prompt can
double a string until the host runs out of memory, loop without output, recurse, or make a giant integer;
a schema `pattern` can backtrack. None of that may touch the daemon. Its validation (a trial render with a
long transcript, the example against the schema) runs here, in a child `python -m maied.template_check`
with rlimits on address space and CPU time, a wall-clock timeout, no files to write and a cap on what it
may answer. Whatever goes wrong in the child (a limit, an exception, a crash) is a 4xx naming the
template, within CHECK_WALL_SECONDS.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
from typing import Any

CHECK_MEMORY_BYTES = 768 * 1024 * 1024
"""Address space of the checking process (Python with Jinja2 and jsonschema needs about 100 MB)."""
CHECK_CPU_SECONDS = 5
CHECK_WALL_SECONDS = 10.0
CHECK_OUTPUT_BYTES = 64 * 1024
TRIAL_TRANSCRIPT_CHARS = 30_000
"""The trial render uses a transcript this long, so that a prompt whose work grows with the transcript
shows it at save time rather than in a task."""


def _limit_child() -> None:  # runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_AS, (CHECK_MEMORY_BYTES, CHECK_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CHECK_CPU_SECONDS, CHECK_CPU_SECONDS + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.setpgrp()


def template_problem_bounded(template_id: str, payload: dict[str, Any]) -> str | None:
    """What is wrong with this template, found by the bounded child; None when it is valid."""
    body = json.dumps({"id": template_id, **payload}).encode()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "LANG", "LC_ALL")}
    try:
        proc = subprocess.Popen([sys.executable, "-m", "maied.template_check"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                preexec_fn=_limit_child, close_fds=True)
    except OSError as exc:
        return f"the template could not be checked: {exc}"
    try:
        out, _ = proc.communicate(body, timeout=CHECK_WALL_SECONDS)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return f"checking the template took longer than {CHECK_WALL_SECONDS:g} s (a loop or pattern that never ends?)"
    return _verdict(proc.returncode, out[:CHECK_OUTPUT_BYTES])


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, 9)
    proc.communicate()


def _verdict(returncode: int, out: bytes) -> str | None:
    try:
        answer = json.loads(out.decode())
    except ValueError:
        answer = None
    if isinstance(answer, dict) and returncode == 0:
        problem = answer.get("problem")
        return None if problem is None else str(problem)[:2000]
    if returncode in (-9, -24) or returncode == 137:  # SIGKILL / SIGXCPU: over the CPU limit
        return f"the template used more than {CHECK_CPU_SECONDS} s of CPU while being checked"
    return ("the template exhausted its limits while being checked (more than "
            f"{CHECK_MEMORY_BYTES // 2**20} MiB of memory, or a crash)")


def _check_stdin() -> int:
    """The child: read the template from stdin, answer {"problem": ...} on stdout."""
    from maied.errors import InvalidRequest
    from maied.templates import template_from_payload, validate_template

    try:
        body = json.loads(sys.stdin.buffer.read())
        template = template_from_payload(str(body.pop("id")), body)
        validate_template(template, trial_transcript="word " * (TRIAL_TRANSCRIPT_CHARS // 5))
        problem = None
    except InvalidRequest as exc:
        problem = exc.message
    except MemoryError:
        problem = f"the template needs more than {CHECK_MEMORY_BYTES // 2**20} MiB of memory"
    except RecursionError:
        problem = "the template recurses without end"
    except Exception as exc:  # anything an untrusted template provokes is its own problem
        problem = f"the template failed: {type(exc).__name__}: {str(exc)[:300]}"
    sys.stdout.write(json.dumps({"problem": problem}))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_check_stdin())
