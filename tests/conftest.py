"""Defaults for the whole suite, and fixtures shared by several test folders.

The plumbing tests (queue, LLM stage wiring, retries, model turns) run the small SmolLM2-135M: they test
that the product runs a model, not what the model writes, and the 1.5B default would cost minutes each.
What the default model writes is scored by tests/llm/test_summary_faithfulness.py, which asks for it
explicitly. A test that sets LLM_SUM_MODEL / LLM_ENHANCE_MODEL itself wins over these defaults.

A real private PostgreSQL server (tests/postgres_server.py) serves the store tests of both engines.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from maied.llm.embedded import SMOLLM2_135M
from tests.postgres_server import PostgresServer

os.environ.setdefault("LLM_SUM_MODEL", SMOLLM2_135M.key)
os.environ.setdefault("LLM_ENHANCE_MODEL", SMOLLM2_135M.key)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the test session, started on first use, always stopped and removed."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on the session's server."""
    return postgres.create_database()
