"""Validate and render untrusted templates in a separate, bounded process.

A template uploaded by an admin runs Jinja2 and JSON Schema on input nobody has checked: a prompt can
double a string until the host runs out of memory, loop without output, recurse, or make a giant integer;
a schema `pattern` can backtrack. None of that may touch the daemon. Its validation (a trial render with a
long transcript, the example against the schema) runs here, in a child `python -m maied.template_check`
with rlimits on address space and CPU time, a wall-clock timeout, no files to write and a cap on what it
may answer. Whatever goes wrong in the child (a limit, an exception, a crash) is a 4xx naming the
template, within CHECK_WALL_SECONDS. In a task, an admin's template renders the same way
(`render_bounded_process`); a failure there is the task's LLM_PROCESSING_ERROR.
"""

from __future__ import annotations

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
    # it stays in its parent's process group: a kill of the worker's group takes it too


CHILD_ENV = "MAIE_TEMPLATE_CHILD"
"""Set in the bounded child's environment: there, templates render in-process (never a child of a child)."""


def in_bounded_child() -> bool:
    return os.environ.get(CHILD_ENV) == "1"


def template_problem_bounded(template_id: str, payload: dict[str, Any]) -> str | None:
    """What is wrong with this template, found by the bounded child; None when it is valid."""
    answer = _ask_child({"mode": "check", "id": template_id, **payload}, CHECK_OUTPUT_BYTES)
    return answer if isinstance(answer, str) else _problem_of(answer)


def render_bounded_process(template_id: str, payload: dict[str, Any], variables: dict[str, Any],
                           output_chars: int) -> str:
    """The rendered prompt, made by the bounded child; raises LLMProcessingError naming what went wrong."""
    from maied.errors import LLMProcessingError

    body = {"mode": "render", "id": template_id, **payload, "variables": variables}
    answer = _ask_child(body, CHECK_OUTPUT_BYTES + 6 * output_chars)  # JSON escapes: up to 6 bytes a char
    if isinstance(answer, dict) and isinstance(answer.get("text"), str):
        return str(answer["text"])
    problem = answer if isinstance(answer, str) else _problem_of(answer)
    raise LLMProcessingError(f"template {template_id!r} failed to render: {problem}",
                             details={"template_id": template_id})


def _problem_of(answer: dict[str, Any]) -> str | None:
    problem = answer.get("problem")
    return None if problem is None else str(problem)[:2000]


def _ask_child(body: dict[str, Any], max_bytes: int) -> dict[str, Any] | str:
    """The child's JSON answer, or a string saying why there is none."""
    if in_bounded_child():
        return "a template may not start another template process"
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "LANG", "LC_ALL")}
    env[CHILD_ENV] = "1"
    try:
        proc = subprocess.Popen([sys.executable, "-m", "maied.template_check"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                preexec_fn=_limit_child, close_fds=True)
    except OSError as exc:
        return f"the template could not be run: {exc}"
    try:
        out, _ = proc.communicate(json.dumps(body).encode(), timeout=CHECK_WALL_SECONDS)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return f"the template ran longer than {CHECK_WALL_SECONDS:g} s (a loop or pattern that never ends?)"
    return _verdict(proc.returncode, out[:max_bytes])


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()  # it starts no process of its own (in_bounded_child)
    proc.communicate()


def _verdict(returncode: int, out: bytes) -> dict[str, Any] | str:
    try:
        answer = json.loads(out.decode())
    except ValueError:
        answer = None
    if isinstance(answer, dict) and returncode == 0:
        return answer
    if returncode in (-9, -24) or returncode == 137:  # SIGKILL / SIGXCPU: over the CPU limit
        return f"the template used more than {CHECK_CPU_SECONDS} s of CPU while being checked"
    return ("the template exhausted its limits while being checked (more than "
            f"{CHECK_MEMORY_BYTES // 2**20} MiB of memory, or a crash)")


def _check_stdin() -> int:
    """The child: read the template from stdin, answer {"problem": ...} (and {"text": ...} when asked to
    render) on stdout."""
    from maied.errors import InvalidRequest
    from maied.templates import template_from_payload, validate_template

    answer: dict[str, Any] = {}
    try:
        body = json.loads(sys.stdin.buffer.read())
        mode, variables = body.pop("mode", "check"), body.pop("variables", {})
        template = template_from_payload(str(body.pop("id")), body)
        if mode == "render":
            answer["text"] = template.render(**variables)
        else:
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
    sys.stdout.write(json.dumps({**answer, "problem": problem}))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_check_stdin())
