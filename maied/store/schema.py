"""Schema and migrations, versioned with `PRAGMA user_version`."""

from __future__ import annotations

import sqlite3

# Each entry migrates from version i to i+1; never edit a shipped entry, append a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE tasks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        owner TEXT NOT NULL,
        status TEXT NOT NULL,
        stage TEXT,
        request TEXT NOT NULL,
        audio_path TEXT,
        input_text TEXT,
        input_duration REAL,
        submitted_at REAL NOT NULL,
        started_at REAL,
        completed_at REAL,
        attempts INTEGER NOT NULL DEFAULT 0,
        requeues INTEGER NOT NULL DEFAULT 0,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        error_code TEXT,
        error TEXT,
        warnings TEXT,
        metrics TEXT,
        versions TEXT,
        results TEXT,
        results_expired_at REAL,
        audio_purged_at REAL
    );
    CREATE INDEX tasks_status_seq ON tasks (status, seq);
    CREATE INDEX tasks_completed ON tasks (completed_at);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL DEFAULT 0);
    """,
    # 2: the stored ASR part of a task that waits for the LLM (GPU shared by swapping models).
    """
    ALTER TABLE tasks ADD COLUMN asr_output TEXT;
    """,
    # 3: claims carry the host, a fencing token and a lease; hosts beat; cluster-wide values.
    """
    ALTER TABLE tasks ADD COLUMN worker TEXT;
    ALTER TABLE tasks ADD COLUMN claim_token TEXT;
    ALTER TABLE tasks ADD COLUMN lease_until REAL;
    CREATE TABLE hosts (name TEXT PRIMARY KEY, heartbeat_at REAL NOT NULL, running_task TEXT,
                        started_at REAL NOT NULL);
    CREATE TABLE cluster (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to SCHEMA_VERSION; refuse a database newer than this code."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"database schema version {version} is newer than this maied ({SCHEMA_VERSION}): upgrade maie"
        )
    for target in range(version, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split(MIGRATIONS[target]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
