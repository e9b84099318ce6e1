"""A full disk at the moment the task row is written (the upload fitted, SQLite did not) is 507 DISK_FULL,
not a 500: SQLite's own "database or disk is full", provoked with max_page_count on a real database."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from maied.api.routes_tasks import _submit
from maied.domain import TaskKind, TaskRequest
from maied.errors import DiskFull
from maied.settings import Settings
from maied.store import NewTask, TaskStore


def test_database_full_is_507(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "maie.db")
    try:
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages}")
        ctx = SimpleNamespace(store=store, settings=Settings(DATA_DIR=tmp_path))
        big = NewTask(id="t1", kind=TaskKind.TEXT, owner="uid:0", request=TaskRequest(), input_text="x" * 200_000)
        with pytest.raises(DiskFull) as err:
            _submit(ctx, big)  # type: ignore[arg-type]
        assert err.value.status == 507 and err.value.code == "DISK_FULL"
        assert store.integrity_ok() and store.get("t1") is None
    finally:
        store.close()
