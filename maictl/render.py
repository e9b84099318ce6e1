"""What maictl prints: JSON for machines, rich tables and a live stage display for people.

Data (JSON, transcripts, tables) goes to stdout; the progress of `--wait` goes to stderr, so that
`maictl submit a.wav --wait > a.txt` leaves only the transcript in the file.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import IO, Any

import click
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

STAGE_ORDER = ("PENDING", "PREPROCESSING", "PROCESSING_ASR", "PROCESSING_LLM", "COMPLETE")
STATUS_STYLES = {"COMPLETE": "green", "FAILED": "bold red", "CANCELLED": "yellow", "PENDING": "cyan"}
PIPED_WIDTH = 400
HEALTH_STYLES = {"healthy": "green", "degraded": "yellow", "unhealthy": "bold red"}


def stdout_console() -> Console:
    """On a terminal, its width; piped, wide enough that no line of a table is folded."""
    console = Console(markup=False, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console.width = PIPED_WIDTH
    return console


def stderr_console() -> Console:
    return Console(stderr=True, markup=False, highlight=False)


# --- machine output ---------------------------------------------------------------------------------
def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


# --- values -----------------------------------------------------------------------------------------
def fmt_time(value: Any) -> str:
    """An epoch number or an ISO string, shown as local `YYYY-MM-DD HH:MM:SS`; '-' when missing."""
    if value in (None, ""):
        return "-"
    try:
        if isinstance(value, int | float):
            moment = datetime.fromtimestamp(float(value))
        else:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                moment = moment.astimezone()
    except (ValueError, OSError, OverflowError):
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def fmt_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts as `a.b.c` keys; lists of dicts as `a.<backend|name|id>.b` (or `a[0].b`); the rest as leaves."""
    if isinstance(data, dict) and data:
        rows: list[tuple[str, Any]] = []
        for key, value in data.items():
            rows += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        rows = []
        for i, value in enumerate(data):
            label = value.get("backend") or value.get("name") or value.get("id")
            rows += flatten(value, f"{prefix}.{label}" if isinstance(label, str) else f"{prefix}[{i}]")
        return rows
    return [(prefix or "value", data)]


def transcript_of(doc: dict[str, Any]) -> str | None:
    results = doc.get("results") or {}
    text = results.get("clean_transcript") or results.get("raw_transcript")
    return str(text) if text is not None else None


# --- people's output --------------------------------------------------------------------------------
def emit(console: Console, renderable: Any) -> None:
    """Print a table; when piped, without the padding rich leaves at the ends of lines."""
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    for line in captured.get().splitlines():
        click.echo(line.rstrip())


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    return grid


def render_kv(console: Console, rows: list[tuple[str, Any]]) -> None:
    grid = _grid()
    for key, value in rows:
        grid.add_row(key, fmt_value(value))
    emit(console, grid)


def shows_stage(doc: dict[str, Any]) -> bool:
    """The finer stage is news while a task runs, and where it failed; after COMPLETE it is only its last."""
    stage, status = doc.get("stage"), doc.get("status")
    return bool(stage) and stage != status and status not in ("COMPLETE", "CANCELLED")


def status_rows(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    """The lines of `maictl status`: what a person wants to know about a task, in order."""
    status = doc.get("status")
    rows: list[tuple[str, Any]] = [("task", doc.get("task_id")), ("status", status)]
    if shows_stage(doc):
        rows.append(("stage", doc.get("stage")))
    if doc.get("queue_position") is not None:
        rows.append(("queue position", doc.get("queue_position")))
    for key in ("submitted_at", "started_at", "completed_at"):
        if doc.get(key):
            rows.append((key.replace("_at", ""), fmt_time(doc.get(key))))
    if doc.get("error") or doc.get("error_code"):
        rows.append(("error", f"{doc.get('error_code') or 'ERROR'}: {doc.get('error') or ''}".rstrip(": ")))
    for warning in doc.get("warnings") or []:
        if isinstance(warning, dict):
            rows.append(("warning", f"{warning.get('code')}: {warning.get('message')}"))
    metrics = doc.get("metrics") or {}
    for key in ("input_duration_seconds", "processing_time_seconds", "rtf"):
        if metrics.get(key) is not None:
            rows.append((key.replace("_seconds", " (s)").replace("_", " "), metrics[key]))
    if (doc.get("results") or {}).get("language"):
        rows.append(("language", doc["results"]["language"]))
    return rows


def render_status(console: Console, doc: dict[str, Any]) -> None:
    render_kv(console, status_rows(doc))


def render_result(doc: dict[str, Any]) -> None:
    """After `--wait`: the transcript, then the summary (when asked for) as JSON."""
    results = doc.get("results") or {}
    text = transcript_of(doc)
    if text is not None:
        click.echo(text)
    if results.get("summary") is not None:
        if text is not None:
            click.echo("")
        print_json(results["summary"])


def warn_lines(doc: dict[str, Any]) -> None:
    """The task's warnings on stderr, one line each: `maictl: warning: CODE: message`."""
    for warning in doc.get("warnings") or []:
        if isinstance(warning, dict):
            message = " ".join(str(warning.get("message") or "").split())
            click.echo(f"maictl: warning: {warning.get('code')}: {message}", err=True)


def render_table(console: Console, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(box=box.SIMPLE_HEAD if console.is_terminal else None, show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*[Text(fmt_value(v), style=STATUS_STYLES.get(str(v), "")) for v in row])
    emit(console, table)


def render_tasks(console: Console, tasks: list[dict[str, Any]]) -> None:
    columns = ["task_id", "status", "submitted", "completed"]
    with_names = any(t.get("filename") for t in tasks)
    rows = [[t.get("task_id"), t.get("status"), fmt_time(t.get("submitted_at")), fmt_time(t.get("completed_at"))]
            + ([t.get("filename")] if with_names else []) for t in tasks]
    render_table(console, columns + (["file"] if with_names else []), rows)


def render_templates(console: Console, templates: list[Any]) -> None:
    rows = []
    for item in templates:
        if isinstance(item, dict):
            rows.append([item.get("id") or item.get("template_id"), item.get("name") or item.get("title"),
                         item.get("description")])
        else:
            rows.append([item, None, None])
    render_table(console, ["id", "name", "description"], rows)


def render_health(console: Console, doc: dict[str, Any]) -> None:
    state = str(doc.get("status", "unknown"))
    console.print(Text.assemble(("maied ", "bold"), (state, HEALTH_STYLES.get(state, "bold"))))
    render_kv(console, [(k, v) for k, v in flatten(doc) if k != "status"])


# --- the live display of --wait ---------------------------------------------------------------------
def describe_state(doc: dict[str, Any]) -> str:
    """`PROCESSING_ASR`, with the finer stage, queue position or failure when there is one."""
    status = str(doc.get("status"))
    text = status
    if shows_stage(doc) and status != "FAILED":
        text += f" ({doc['stage']})"
    if status == "PENDING" and doc.get("queue_position") is not None:
        text += f", queue position {doc['queue_position']}"
    if status == "FAILED":
        text += f": {doc.get('error_code') or 'ERROR'}: {doc.get('error') or ''}".rstrip(": ")
    return text


class PlainProgress:
    """When stderr is not a terminal: one line per change, `HH:MM:SS TASK_ID STATE`."""

    def __init__(self, stream: IO[str] | None = None):
        self.stream = stream

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, doc: dict[str, Any]) -> None:
        line = f"{time.strftime('%H:%M:%S')} {doc.get('task_id')} {describe_state(doc)}"
        click.echo(line, file=self.stream or sys.stderr)


class RichProgress:
    """On a terminal: a spinner, the stage, a bar over the pipeline's stages, and the elapsed time."""

    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                 BarColumn(bar_width=20), TimeElapsedColumn(),
                                 console=console, transient=True)
        self.task: Any = None

    def __enter__(self) -> RichProgress:
        self.progress.start()
        self.task = self.progress.add_task("connecting", total=len(STAGE_ORDER) - 1)
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, doc: dict[str, Any]) -> None:
        status = str(doc.get("status"))
        step = STAGE_ORDER.index(status) if status in STAGE_ORDER else None
        label = Text.assemble((f"{doc.get('task_id')} ", "dim"), (describe_state(doc), STATUS_STYLES.get(status, "bold")))
        self.progress.console.print(Text.assemble((time.strftime("%H:%M:%S "), "dim"), label))
        self.progress.update(self.task, description=describe_state(doc),
                             completed=step if step is not None else self.progress.tasks[0].completed)


def progress_display(console: Console) -> PlainProgress | RichProgress:
    return RichProgress(console) if console.is_terminal else PlainProgress()
