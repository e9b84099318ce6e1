"""maictl: the command line of the maied daemon (a pure HTTP client over its socket or TCP).

Exit codes: 0 ok, 1 the task failed or was cancelled, 2 usage, 3 cannot reach the daemon,
4 rejected by the daemon (4xx), 5 daemon error (5xx). Errors are one line on stderr.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from maictl import __version__, render
from maictl.client import DEFAULT_SOCKET, ClientError, Connection, MaiedClient, SubmitOptions
from maictl.failures import ExitCode, MaictlError, error_line, exit_code_of, task_ended_error
from maictl.wait import LONG_POLL_SECONDS, follow_task

FEATURES = ("raw_transcript", "clean_transcript", "summary", "enhancement_metrics")
STATUSES = ("PENDING", "PREPROCESSING", "PROCESSING_ASR", "PROCESSING_LLM", "COMPLETE", "FAILED", "CANCELLED")
RESULT_FORMATS = ("txt", "srt", "vtt", "json", "summary")
F = TypeVar("F", bound=Callable[..., Any])


class MaictlGroup(click.Group):
    """A click group whose every failure ends as one stderr line and a documented exit code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
            sys.exit(ExitCode.USAGE)
        except click.ClickException as exc:
            fail("USAGE", _usage_message(exc), ExitCode.USAGE)
        except ClientError as exc:
            fail(exc.code, exc.message, exit_code_of(exc))
        except MaictlError as exc:
            fail(exc.code, exc.message, exc.exit_code)
        except click.exceptions.Abort:
            fail("INTERRUPTED", "interrupted", ExitCode.INTERRUPTED)
        except OSError as exc:  # a local file: the upload being read, or the -o file being written
            fail("IO_ERROR", f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}", ExitCode.IO_ERROR)
        except Exception as exc:
            if os.environ.get("MAICTL_DEBUG"):
                raise
            fail("INTERNAL", f"{type(exc).__name__}: {exc} (a bug in maictl; MAICTL_DEBUG=1 shows the traceback)",
                 ExitCode.SOFTWARE)
        sys.exit(result if isinstance(result, int) else ExitCode.OK)


def fail(code: str, message: str, exit_code: int) -> None:
    click.echo(error_line(code, message), err=True)
    sys.exit(exit_code)


def _usage_message(exc: click.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    return f"{exc.format_message()}{hint}"


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")(func)


def wait_option(func: F) -> F:
    return click.option("--wait", "-w", is_flag=True,
                        help="Follow the task until it ends (long-poll): a live display on a terminal, "
                             "one line per change on stderr otherwise.")(func)


@contextmanager
def open_client(ctx: click.Context) -> Iterator[MaiedClient]:
    with MaiedClient(ctx.find_object(Connection) or Connection()) as client:
        yield client


def parse_features(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[str]:
    """`--features a,b --features c` -> [a, b, c], each one of FEATURES."""
    features: list[str] = []
    for value in values:
        for item in (v.strip() for v in value.split(",")):
            if not item:
                continue
            if item not in FEATURES:
                raise click.BadParameter(f"{item!r} is not one of {', '.join(FEATURES)}", ctx, param)
            if item not in features:
                features.append(item)
    return features


def features_option(func: F) -> F:
    return click.option("--features", "-f", multiple=True, callback=parse_features, metavar="LIST",
                        help=f"What to produce, a comma list (repeatable) of: {', '.join(FEATURES)}. "
                             "Default: the daemon's (raw_transcript for audio).")(func)


def template_option(func: F) -> F:
    return click.option("--template", "-t", "template_id", metavar="ID",
                        help="Summary template id (required with the summary feature; see `maictl templates`).")(func)


def require_template(features: list[str], template_id: str | None) -> None:
    if "summary" in features and not template_id:
        raise click.UsageError("the summary feature needs --template ID (see `maictl templates`)")


# --- the group --------------------------------------------------------------------------------------
@click.group(cls=MaictlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--socket", "socket_path", envvar=["MAIE_SOCKET", "API_SOCKET"], default=DEFAULT_SOCKET,
              show_default=True, metavar="PATH",
              help="maied's Unix socket (env MAIE_SOCKET, which maied reads too; else API_SOCKET).")
@click.option("--url", envvar="MAIE_URL", metavar="URL",
              help="Talk TCP to http://host:port instead of the socket (env MAIE_URL).")
@click.option("--api-key", envvar="MAIE_API_KEY", metavar="KEY",
              help="Sent as X-API-Key; needed over TCP (env MAIE_API_KEY).")
@click.option("--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True, metavar="SECONDS",
              help="How long to wait for an answer to one request.")
@click.version_option(__version__, "--version", prog_name="maictl")
@click.pass_context
def cli(ctx: click.Context, socket_path: str, url: str | None, api_key: str | None, timeout: float) -> None:
    """maictl: submit recordings to the maied daemon and fetch transcripts and summaries.

    Exit codes: 0 ok, 1 the task failed or was cancelled, 2 usage, 3 cannot reach the daemon,
    4 rejected by the daemon (4xx), 5 daemon error (5xx).
    """
    ctx.obj = Connection(socket=socket_path, url=url or None, api_key=api_key or None, timeout=timeout)


# --- submitting -------------------------------------------------------------------------------------
@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@features_option
@template_option
@click.option("--backend", type=click.Choice(["whisper", "chunkformer"]), help="ASR backend (default: the daemon's).")
@click.option("--language", metavar="xx", help="Spoken language, e.g. vi or en (default: detect).")
@click.option("--vocabulary", metavar="'a,b'", help="Terms and names to bias recognition and cleaning, comma separated.")
@click.option("--vad/--no-vad", default=None, help="Skip silence with voice activity detection (default: the daemon's).")
@click.option("--vad-threshold", type=click.FloatRange(0, 1), metavar="0..1", help="Speech probability threshold of the VAD.")
@click.option("--diarize", is_flag=True, help="Label who spoke when (SPEAKER_1, SPEAKER_2, ...) on the transcript.")
@click.option("--speakers", type=click.IntRange(1, 20), metavar="N",
              help="With --diarize: the number of speakers, when known (default: found from the audio).")
@wait_option
@json_option
@click.pass_context
def submit(ctx: click.Context, file: Path, features: list[str], template_id: str | None, backend: str | None,
           language: str | None, vocabulary: str | None, vad: bool | None, vad_threshold: float | None,
           diarize: bool, speakers: int | None, wait: bool, as_json: bool) -> None:
    """Upload a recording and print its task id.

    The file is streamed from disk. With --wait, follow the task and print its transcript
    (and summary), or with --json its whole status document.
    """
    require_template(features, template_id)
    if not file.is_file():  # /dev/zero, a FIFO, a socket: endless or not a recording
        raise MaictlError("USAGE", f"{file} is not a regular file (a device, FIFO or socket cannot be "
                          "uploaded)", ExitCode.USAGE)
    if speakers is not None and not diarize:
        raise click.UsageError("--speakers needs --diarize")
    options = SubmitOptions(features=features, template_id=template_id, asr_backend=backend, language=language,
                            enable_vad=vad, vad_threshold=vad_threshold, vocabulary=vocabulary,
                            diarize=diarize, speakers=speakers)
    with open_client(ctx) as client:
        accepted = client.submit(file, options)
        finish_submission(client, accepted, wait, as_json)


@cli.command("submit-text")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
@features_option
@template_option
@wait_option
@json_option
@click.pass_context
def submit_text(ctx: click.Context, file: Any, features: list[str], template_id: str | None, wait: bool,
                as_json: bool) -> None:
    """Clean or summarize a text (FILE, or stdin with -).

    The text goes through the LLM stages only (POST /v1/process_text).
    """
    require_template(features, template_id)
    text = file.read()
    if not text.strip():
        raise click.UsageError("the text is empty")
    with open_client(ctx) as client:
        accepted = client.submit_text(text, features, template_id)
        finish_submission(client, accepted, wait, as_json)


@cli.command()
@click.argument("task_id", metavar="ID")
@features_option
@template_option
@wait_option
@json_option
@click.pass_context
def summarize(ctx: click.Context, task_id: str, features: list[str], template_id: str | None, wait: bool,
              as_json: bool) -> None:
    """Summarize a finished or failed task again, without redoing its ASR.

    A new task runs the LLM stages only on the stored transcript of task ID
    (POST /v1/tasks/{id}/summarize), e.g. with another template, or after its summary failed.
    Prints the new task's id; with --wait, its summary.
    """
    features = features or ["summary"]
    require_template(features, template_id)
    with open_client(ctx) as client:
        accepted = client.summarize(task_id, template_id, features)
        finish_submission(client, accepted, wait, as_json)


def finish_submission(client: MaiedClient, accepted: dict[str, Any], wait: bool, as_json: bool) -> None:
    task_id = str(accepted.get("task_id"))
    if not wait:
        render.print_json(accepted) if as_json else click.echo(task_id)
        return
    doc = wait_for(client, task_id)
    render.warn_lines(doc)  # on stderr whatever the format: a warning must reach the person
    if as_json:
        render.print_json(doc)
    else:
        render.render_result(doc)
    raise_if_ended_badly(doc)


def wait_for(client: MaiedClient, task_id: str) -> dict[str, Any]:
    """Follow the task with the long-poll, showing each change on stderr; Ctrl-C leaves it running."""
    try:
        with render.progress_display(render.stderr_console()) as display:
            return follow_task(client, task_id, display.update, poll_seconds=LONG_POLL_SECONDS)
    except KeyboardInterrupt:
        raise MaictlError("INTERRUPTED", f"stopped waiting; task {task_id} goes on in maied "
                          f"(`maictl status {task_id} --wait` to follow it, `maictl cancel {task_id}` "
                          "to stop it)", ExitCode.INTERRUPTED) from None


def raise_if_ended_badly(doc: dict[str, Any]) -> None:
    error = task_ended_error(doc)
    if error is not None:
        raise error


# --- reading ----------------------------------------------------------------------------------------
@cli.command()
@click.argument("task_id", metavar="ID")
@wait_option
@json_option
@click.pass_context
def status(ctx: click.Context, task_id: str, wait: bool, as_json: bool) -> None:
    """Show a task's status.

    Status, stage, times, queue position, error, warnings and metrics. Exits 1 when the task
    failed or was cancelled.
    """
    with open_client(ctx) as client:
        doc = wait_for(client, task_id) if wait else client.status(task_id)
    render.print_json(doc) if as_json else render.render_status(render.stdout_console(), doc)
    raise_if_ended_badly(doc)


@cli.command()
@click.argument("task_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(RESULT_FORMATS), default="txt", show_default=True,
              help="txt, srt, vtt or json transcript as the daemon renders it; summary: the summary JSON.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path), metavar="FILE",
              help="Write to FILE instead of stdout.")
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@click.pass_context
def result(ctx: click.Context, task_id: str, fmt: str, output: Path | None, as_json: bool) -> None:
    """Fetch a finished task's transcript or summary.

    txt, srt, vtt and json are rendered by the daemon; summary prints results.summary as JSON.
    The task's warnings go to stderr. A task that failed after its transcript was made (say in its
    summary) still gives the transcript, with the failure on stderr and exit status 1.
    """
    if as_json:
        if fmt not in ("txt", "json"):
            raise click.UsageError(f"--json and --format {fmt} ask for two formats: give one")
        fmt = "json"
    with open_client(ctx) as client:
        doc = client.status(task_id)
        render.warn_lines(doc)
        try:
            if fmt == "summary":
                write_output(summary_bytes(doc), output)
            else:
                with client.transcript(task_id, fmt) as chunks:
                    write_output(chunks, output)
        except ClientError as exc:
            if exc.http_status == 409:
                raise_if_ended_badly(client.status(task_id))
            raise
    raise_if_ended_badly(doc)


def summary_bytes(doc: dict[str, Any]) -> Iterator[bytes]:
    raise_if_ended_badly(doc)
    if doc.get("status") != "COMPLETE":
        raise MaictlError("TASK_NOT_FINISHED", f"task {doc.get('task_id')} is {doc.get('status')}; "
                          f"follow it with `maictl status {doc.get('task_id')} --wait`", ExitCode.REJECTED)
    summary = (doc.get("results") or {}).get("summary")
    if summary is None:
        raise MaictlError("NO_SUMMARY", f"task {doc.get('task_id')} has no summary (submit with "
                          "--features summary --template ID)", ExitCode.REJECTED)
    yield (json.dumps(summary, ensure_ascii=False, indent=2) + "\n").encode()


def write_output(chunks: Iterator[bytes], output: Path | None) -> None:
    """Stream chunks to stdout or FILE; FILE is only created once the first chunk (or the end) has come."""
    iterator = iter(chunks)
    first = next(iterator, b"")
    if output is None:
        sys.stdout.flush()
        stream = sys.stdout.buffer
        for chunk in itertools.chain([first], iterator):
            stream.write(chunk)
        stream.flush()
        return
    with output.open("wb") as fh:
        for chunk in itertools.chain([first], iterator):
            fh.write(chunk)


@cli.command("list")
@click.option("--status", "status_filter", type=click.Choice(STATUSES, case_sensitive=False),
              help="Only tasks in this status.")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True, help="At most N tasks.")
@click.option("--cursor", metavar="CURSOR", help="Continue a previous listing (the cursor it printed).")
@json_option
@click.pass_context
def list_tasks(ctx: click.Context, status_filter: str | None, limit: int, cursor: str | None, as_json: bool) -> None:
    """List your tasks, newest first."""
    with open_client(ctx) as client:
        body = client.list_tasks(status=status_filter.upper() if status_filter else None, limit=limit, cursor=cursor)
    if as_json:
        render.print_json(body)
        return
    tasks = body if isinstance(body, list) else body.get("tasks") or body.get("items") or []
    render.render_tasks(render.stdout_console(), tasks)
    next_cursor = body.get("next_cursor") if isinstance(body, dict) else None
    if next_cursor:
        click.echo(f"more: maictl list --cursor {next_cursor}", err=True)


# --- changing ---------------------------------------------------------------------------------------
@cli.command()
@click.argument("task_id", metavar="ID")
@json_option
@click.pass_context
def cancel(ctx: click.Context, task_id: str, as_json: bool) -> None:
    """Cancel a pending or running task.

    A running task is stopped and its memory freed.
    """
    with open_client(ctx) as client:
        body = client.cancel(task_id)
    if as_json:
        render.print_json(body)
    elif body.get("cancel_requested"):
        click.echo(f"{task_id} cancel requested (it was {body.get('status')}; it stops within moments)")
    else:
        click.echo(f"{task_id} {body.get('status') or 'CANCELLED'}")


@cli.command()
@click.argument("task_id", metavar="ID")
@json_option
@click.pass_context
def delete(ctx: click.Context, task_id: str, as_json: bool) -> None:
    """Delete a finished task with its audio and results."""
    with open_client(ctx) as client:
        body = client.delete(task_id)
    render.print_json(body or {"task_id": task_id, "deleted": True}) if as_json else click.echo(f"{task_id} deleted")


# --- the daemon -------------------------------------------------------------------------------------
@cli.command()
@json_option
@click.pass_context
def health(ctx: click.Context, as_json: bool) -> None:
    """Show the daemon's health.

    Version, queue depth, worker, database, disk and models. Exits 5 when unhealthy.
    """
    with open_client(ctx) as client:
        doc = client.health()
    render.print_json(doc) if as_json else render.render_health(render.stdout_console(), doc)
    if doc.get("status") == "unhealthy":
        sys.exit(ExitCode.DAEMON_ERROR)


@cli.command()
@click.argument("template_id", metavar="[ID]", required=False)
@click.option("--schema", is_flag=True, help="With ID: print the template's JSON Schema.")
@json_option
@click.pass_context
def templates(ctx: click.Context, template_id: str | None, schema: bool, as_json: bool) -> None:
    """List the summary templates, or show one.

    With ID, print that template; with ID --schema, its JSON Schema.
    """
    if schema and not template_id:
        raise click.UsageError("--schema needs a template ID")
    with open_client(ctx) as client:
        if template_id:
            render.print_json(client.template_schema(template_id) if schema else client.template(template_id))
            return
        body = client.templates()
    if as_json:
        render.print_json(body)
        return
    items = body if isinstance(body, list) else body.get("templates") or []
    render.render_templates(render.stdout_console(), items)


@cli.command()
@json_option
@click.pass_context
def models(ctx: click.Context, as_json: bool) -> None:
    """Show the ASR, LLM and diarization models.

    For each backend: the configured model, whether it is on disk, its size and device, and
    which one the daemon will use.
    """
    with open_client(ctx) as client:
        body = client.models()
    if as_json:
        render.print_json(body)
        return
    render.render_models(render.stdout_console(), body)


def main() -> None:
    cli.main(prog_name="maictl")
