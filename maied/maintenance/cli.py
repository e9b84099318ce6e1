"""`maied maintenance ...`: the seed's cron scripts as verbs, run by the maie-*.timer units.

Register in the main CLI with `cli.add_command(maintenance)`. Settings come from the click context
object when the main CLI put a Settings there, else from load_settings() (env file + environment, so
`DRY_RUN=true DAYS_TO_KEEP=30 maied maintenance clean-logs` works as the seed's scripts did).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from maied.errors import ConfigError
from maied.maintenance.audio import plan_clean_audio
from maied.maintenance.disk import data_disk_usage, plan_emergency_cleanup
from maied.maintenance.logs import plan_clean_logs
from maied.maintenance.plan import Outcome, Plan
from maied.maintenance.report import outcome_lines
from maied.maintenance.results import plan_clean_results
from maied.maintenance.run import execute
from maied.settings import Settings, load_settings
from maied.store import TaskQueue, open_store

maintenance = click.Group("maintenance", help="Clean up logs, audio and results; watch the data disk.")

dry_run_option = click.option("--dry-run", is_flag=True, default=None,
                              help="Print what would be deleted and the bytes freed; delete nothing (DRY_RUN).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of lines.")


def _settings(ctx: click.Context) -> Settings:
    found = ctx.find_object(Settings)
    if found is not None:
        return found
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(exc.message) from None


def _dry(settings: Settings, flag: bool | None) -> bool:
    return bool(flag) or settings.DRY_RUN


@contextmanager
def _open_store(settings: Settings) -> Iterator[TaskQueue | None]:
    """The task store, or None when there is no SQLite database yet (never create one from here)."""
    if not settings.DATABASE_URL and not settings.db_path.is_file():
        yield None
        return
    store = open_store(settings)
    try:
        yield store
    finally:
        store.close()


def _emit(outcomes: list[Outcome], as_json: bool, extra: dict[str, Any] | None = None) -> None:
    if as_json:
        body: dict[str, Any] = {"outcomes": [o.to_dict() for o in outcomes], **(extra or {})}
        click.echo(json.dumps(body, indent=2))
        return
    for outcome in outcomes:
        for line in outcome_lines(outcome):
            click.echo(line)


def _exit_code(outcomes: list[Outcome]) -> int:
    return 1 if any(o.failures for o in outcomes) else 0


PlanMaker = Callable[[Settings, TaskQueue], Plan]


def _run_store_verbs(settings: Settings, makers: list[PlanMaker], dry: bool) -> list[Outcome]:
    with _open_store(settings) as store:
        if store is None:
            return [Outcome("database", dry, notes=[f"no database at {settings.db_path}: nothing to do"])]
        with store.maintenance_lock("maintenance") as mine:
            if not mine:
                return [Outcome("database", dry, notes=["another host runs maintenance now: nothing to do"])]
            return [execute(make(settings, store), store, dry_run=dry) for make in makers]


def _audio(settings: Settings, store: TaskQueue) -> Plan:
    return plan_clean_audio(settings, store)


def _results(settings: Settings, store: TaskQueue) -> Plan:
    return plan_clean_results(settings.RESULT_TTL, store)


@maintenance.command("clean-logs")
@dry_run_option
@json_option
@click.pass_context
def clean_logs(ctx: click.Context, dry_run: bool | None, as_json: bool) -> None:
    """Delete log files older than DAYS_TO_KEEP days from LOG_DIR."""
    settings = _settings(ctx)
    outcomes = [execute(plan_clean_logs(settings), None, dry_run=_dry(settings, dry_run))]
    _emit(outcomes, as_json)
    ctx.exit(_exit_code(outcomes))


@maintenance.command("clean-audio")
@dry_run_option
@json_option
@click.pass_context
def clean_audio(ctx: click.Context, dry_run: bool | None, as_json: bool) -> None:
    """Delete the audio of finished tasks older than RETENTION_DAYS days."""
    settings = _settings(ctx)
    outcomes = _run_store_verbs(settings, [_audio], _dry(settings, dry_run))
    _emit(outcomes, as_json)
    ctx.exit(_exit_code(outcomes))


@maintenance.command("clean-results")
@dry_run_option
@json_option
@click.pass_context
def clean_results(ctx: click.Context, dry_run: bool | None, as_json: bool) -> None:
    """Expire results older than RESULT_TTL seconds; vacuum the database when worth it."""
    settings = _settings(ctx)
    outcomes = _run_store_verbs(settings, [_results], _dry(settings, dry_run))
    _emit(outcomes, as_json)
    ctx.exit(_exit_code(outcomes))


@maintenance.command("clean-all")
@dry_run_option
@json_option
@click.pass_context
def clean_all(ctx: click.Context, dry_run: bool | None, as_json: bool) -> None:
    """clean-results (unless SKIP_CACHE=true), clean-audio, then clean-logs."""
    settings = _settings(ctx)
    dry = _dry(settings, dry_run)
    makers: list[PlanMaker] = [_audio] if settings.SKIP_CACHE else [_results, _audio]
    outcomes = _run_store_verbs(settings, makers, dry)
    outcomes.append(execute(plan_clean_logs(settings), None, dry_run=dry))
    _emit(outcomes, as_json)
    ctx.exit(_exit_code(outcomes))


@maintenance.command("disk-monitor")
@dry_run_option
@json_option
@click.pass_context
def disk_monitor(ctx: click.Context, dry_run: bool | None, as_json: bool) -> None:
    """Report the data disk's use against DISK_THRESHOLD; with EMERGENCY_CLEANUP=true free space
    oldest-first until under it. Exits 1 while the disk stays above the threshold."""
    settings = _settings(ctx)
    dry = _dry(settings, dry_run)
    before = data_disk_usage(settings)
    outcomes: list[Outcome] = []
    after_percent = before.used_percent
    if before.used_percent > settings.DISK_THRESHOLD and settings.EMERGENCY_CLEANUP:
        with _open_store(settings) as store:
            if store is not None:
                outcome = execute(plan_emergency_cleanup(settings, store, before), store, dry_run=dry)
                outcomes.append(outcome)
                after_percent = (before.percent_after_freeing(outcome.bytes_freed) if dry
                                 else data_disk_usage(settings).used_percent)
    above = after_percent > settings.DISK_THRESHOLD
    summary = {"path": before.path, "used_percent": round(before.used_percent, 2),
               "after_percent": round(after_percent, 2), "threshold_percent": settings.DISK_THRESHOLD,
               "above_threshold": above, "emergency_cleanup": settings.EMERGENCY_CLEANUP}
    if not as_json:
        click.echo(_disk_line(before.path, before.used_percent, settings))
    _emit(outcomes, as_json, {"disk": summary})
    if not as_json and outcomes:
        click.echo(f"data disk after cleanup{' (projected)' if dry else ''}: {after_percent:.1f}%")
    if above:
        click.echo(f"WARNING: the data disk is above DISK_THRESHOLD={settings.DISK_THRESHOLD:g}%;"
                   " new uploads get 507 DISK_FULL", err=True)
    ctx.exit(1 if above or _exit_code(outcomes) else 0)


def _disk_line(path: str, percent: float, settings: Settings) -> str:
    state = "ABOVE" if percent > settings.DISK_THRESHOLD else "under"
    return f"data disk {path}: {percent:.1f}% used, {state} DISK_THRESHOLD={settings.DISK_THRESHOLD:g}%"


def main() -> None:  # `python -m maied.maintenance` while the main CLI is not wired
    maintenance(prog_name="maied maintenance")


if __name__ == "__main__":
    main()
    sys.exit(0)
