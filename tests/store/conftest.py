"""The store contract runs against both engines: every test that takes `open_queue` (or a `store` built
with it) runs once on SQLite and once on a real PostgreSQL server (tests/postgres_server.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from maied.store import TaskQueue, TaskStore

OpenQueue = Callable[..., TaskQueue]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_queue(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[OpenQueue]:
    """Open stores on one database of `engine`; each one opened is another connection (another host)."""
    url = request.getfixturevalue("pg_url") if engine == "postgresql" else None
    opened: list[TaskQueue] = []

    def make(*, clock: Callable[[], float] = time.time, worker: str = "h1", lease_seconds: float = 60.0) -> TaskQueue:
        if url is None:
            store: TaskQueue = TaskStore(tmp_path / "maie.db", clock=clock, worker=worker, lease_seconds=lease_seconds)
        else:
            from maied.store.postgres import PostgresTaskStore

            store = PostgresTaskStore(url, clock=clock, worker=worker, lease_seconds=lease_seconds)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
