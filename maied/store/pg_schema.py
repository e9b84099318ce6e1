"""PostgreSQL schema and migrations, versioned in `schema_version`, applied under an advisory lock so that
hosts starting together migrate once."""

from __future__ import annotations

from typing import Any

import psycopg

MIGRATION_LOCK = 0x6D616966
# Each entry migrates from version i to i+1; never edit a shipped entry, append a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE tasks (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        owner TEXT NOT NULL,
        status TEXT NOT NULL,
        stage TEXT,
        request TEXT NOT NULL,
        audio_path TEXT,
        input_text TEXT,
        input_duration DOUBLE PRECISION,
        submitted_at DOUBLE PRECISION NOT NULL,
        started_at DOUBLE PRECISION,
        completed_at DOUBLE PRECISION,
        attempts INTEGER NOT NULL DEFAULT 0,
        requeues INTEGER NOT NULL DEFAULT 0,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        error_code TEXT,
        error TEXT,
        warnings TEXT,
        metrics TEXT,
        versions TEXT,
        results TEXT,
        results_expired_at DOUBLE PRECISION,
        audio_purged_at DOUBLE PRECISION,
        asr_output TEXT,
        worker TEXT,
        claim_token TEXT,
        lease_until DOUBLE PRECISION
    );
    CREATE INDEX tasks_status_seq ON tasks (status, seq);
    CREATE INDEX tasks_completed ON tasks (completed_at);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL DEFAULT 0);
    CREATE TABLE hosts (name TEXT PRIMARY KEY, heartbeat_at DOUBLE PRECISION NOT NULL, running_task TEXT,
                        started_at DOUBLE PRECISION NOT NULL);
    CREATE TABLE cluster (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Bring the database to SCHEMA_VERSION; refuse a database newer than this code."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT max(version) AS v FROM schema_version").fetchone()
        version = int(_first(row) or 0)
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"database schema version {version} is newer than this maied ({SCHEMA_VERSION}): upgrade maie"
            )
        for target in range(version, SCHEMA_VERSION):
            conn.execute(MIGRATIONS[target].encode())
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (target + 1,))
    return SCHEMA_VERSION


def _first(row: Any) -> Any:
    if row is None:
        return None
    return next(iter(row.values())) if isinstance(row, dict) else row[0]
