"""`maied store copy --to postgresql://...` moves a real SQLite queue into a real PostgreSQL one, idempotently."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from maied.cli import cli
from maied.domain import PipelineOutput, TaskKind, TaskRequest, TaskStatus
from maied.store import NewTask, TaskStore
from maied.store.postgres import PostgresTaskStore


def run_copy(data_dir: Path, *args: str) -> Result:
    env = {"MAIE_ENV_FILE": str(data_dir / "none.env"), "DATA_DIR": str(data_dir)}
    return CliRunner().invoke(cli, ["store", "copy", *args], env=env)


def test_copy_then_copy_again(tmp_path: Path, pg_url: str) -> None:
    source = TaskStore(tmp_path / "maie.db")
    for i in range(4):
        source.submit(NewTask(id=f"t{i}", kind=TaskKind.AUDIO, owner="uid:1000", request=TaskRequest(),
                              audio_path=str(tmp_path / "audio" / f"t{i}" / "a.wav")))
    claimed = source.claim_next()
    assert claimed is not None
    source.complete(claimed.id, PipelineOutput(results={"raw_transcript": "moved"}))
    source.bump_counter("model_loads:asr", 3)
    source.close()

    first = run_copy(tmp_path, "--to", pg_url)
    assert first.exit_code == 0, first.output
    assert "copied 4 task(s) (0 already there) and 1 counter(s)" in first.output
    again = run_copy(tmp_path, "--to", pg_url)
    assert again.exit_code == 0 and "copied 0 task(s) (4 already there)" in again.output

    target = PostgresTaskStore(pg_url)
    try:
        assert target.require(claimed.id).results == {"raw_transcript": "moved"}
        assert target.require(claimed.id).status == TaskStatus.COMPLETE
        assert target.pending_count() == 3 and target.counters() == {"model_loads:asr": 3}
    finally:
        target.close()


def test_copy_refuses_what_it_cannot_do(tmp_path: Path, pg_url: str) -> None:
    assert run_copy(tmp_path, "--to", pg_url).exit_code == 1  # no SQLite queue here
    wrong = run_copy(tmp_path, "--to", "mysql://x")
    assert wrong.exit_code == 2 and "postgresql://" in wrong.output
    TaskStore(tmp_path / "maie.db").close()
    away = run_copy(tmp_path, "--to", "postgresql://nobody@/nowhere?host=/nonexistent")
    assert away.exit_code == 1 and "cannot reach the database" in away.output
