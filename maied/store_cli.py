"""`maied store copy --to postgresql://...`: move an existing SQLite queue onto the shared PostgreSQL one."""

from __future__ import annotations

import click

from maied.settings import mask_url_password


@click.group("store", help="The task queue's database.")
def store_group() -> None:
    pass


@store_group.command("copy")
@click.option("--to", "target", required=True, metavar="URL", help="postgresql://user:password@host/db")
def copy(target: str) -> None:
    """Copy this host's SQLite queue (tasks, results, counters) into PostgreSQL. Idempotent: tasks already
    there (by id) are left alone; a task that was running comes in PENDING. Stop maied first."""
    from maied.cli import fail, settings_or_exit
    from maied.daemon import DaemonError, take_state_lock
    from maied.store import TaskStore
    from maied.store.postgres import PostgresTaskStore

    if not target.startswith(("postgresql://", "postgres://")):
        fail("--to must be a postgresql:// URL", 2)
    settings = settings_or_exit()
    if not settings.db_path.is_file():
        fail(f"no SQLite queue at {settings.db_path}: nothing to copy")
    try:
        lock = take_state_lock(settings)
    except DaemonError as exc:
        fail(f"{exc}: stop it before copying its queue")
    try:
        source = TaskStore(settings.db_path, worker=settings.WORKER_NAME)
        dest = PostgresTaskStore(target, worker=settings.WORKER_NAME)
        rows = list(source.export_rows())
        counters = source.counters()
        inserted = dest.import_rows(rows, counters)
        source.close()
        dest.close()
    except OSError as exc:
        fail(str(exc))
    finally:
        lock.close()
    click.echo(f"copied {inserted} task(s) ({len(rows) - inserted} already there) and {len(counters)} counter(s)"
               f" from {settings.db_path} to {mask_url_password(target)}")
