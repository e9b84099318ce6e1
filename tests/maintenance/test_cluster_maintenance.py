"""Maintenance on several hosts at once: the store verbs take a cluster-wide lock; a host that finds it
taken skips the round instead of racing the other."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from maied.cli import cli
from maied.domain import PipelineOutput, TaskKind, TaskRequest
from maied.store import NewTask
from maied.store.postgres import PostgresTaskStore


def clean_results(tmp_path: Path, url: str) -> dict[str, object]:
    env = {"MAIE_ENV_FILE": str(tmp_path / "none.env"), "DATA_DIR": str(tmp_path), "DATABASE_URL": url,
           "RESULT_TTL": "0"}
    result = CliRunner().invoke(cli, ["maintenance", "clean-results", "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_one_host_at_a_time(tmp_path: Path, pg_url: str) -> None:
    other_host = PostgresTaskStore(pg_url, worker="h2")
    try:
        other_host.submit(NewTask(id="a", kind=TaskKind.TEXT, owner="uid:1", request=TaskRequest(), input_text="x"))
        claimed = other_host.claim_next()
        assert claimed is not None
        other_host.complete("a", PipelineOutput(results={"raw_transcript": "x"}), token=claimed.claim_token)
        with other_host.maintenance_lock("maintenance") as held:
            assert held
            skipped = clean_results(tmp_path, pg_url)
            assert "another host runs maintenance now" in json.dumps(skipped)
            assert other_host.require("a").results is not None
        done = clean_results(tmp_path, pg_url)
        assert "another host" not in json.dumps(done)
        assert other_host.require("a").results is None
    finally:
        other_host.close()
