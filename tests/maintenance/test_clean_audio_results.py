"""clean-audio, clean-results, clean-all against real files and a real store."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from maied.domain import TaskStatus
from maied.maintenance import TaskAction, execute
from maied.maintenance.audio import plan_clean_audio
from maied.maintenance.cli import maintenance
from maied.maintenance.results import plan_clean_results
from maied.settings import Settings
from maied.store import TaskStore
from tests.maintenance.conftest import Tasks, tree

OLD, RECENT = 10.0, 1.0  # days; RETENTION_DAYS defaults to 7


def populate(tasks: Tasks) -> None:
    """Submission order matters (claims are FIFO): every task that gets claimed is made in turn."""
    tasks.make("old-complete", TaskStatus.COMPLETE, OLD)
    tasks.make("old-failed", TaskStatus.FAILED, OLD)
    tasks.make("old-cancelled", TaskStatus.CANCELLED, OLD)
    tasks.make("recent-complete", TaskStatus.COMPLETE, RECENT)
    tasks.make("old-running", TaskStatus.PROCESSING_ASR, OLD)
    tasks.make("old-pending", TaskStatus.PENDING, OLD)


def test_dry_run_deletes_nothing_and_reports_what_the_real_run_deletes(tasks: Tasks, settings: Settings,
                                                                       store: TaskStore) -> None:
    populate(tasks)
    before = tree(settings.audio_dir)

    dry = execute(plan_clean_audio(settings, store), store, dry_run=True)
    assert tree(settings.audio_dir) == before
    assert all(store.require(t).audio_purged_at is None for t in ("old-complete", "old-failed"))

    real = execute(plan_clean_audio(settings, store), store, dry_run=False)
    assert {f.path for f in dry.files} == {f.path for f in real.files}
    assert dry.bytes_freed == real.bytes_freed > 0
    assert not real.failures

    gone = {"old-complete", "old-failed", "old-cancelled"}
    # every file of those tasks (upload and derived) and their folders went; nothing else did
    assert {f.path.relative_to(settings.audio_dir).parts[0] for f in real.files} == gone
    assert len(real.files) == 2 * len(gone)
    for task_id in gone:
        assert not (settings.audio_dir / task_id).exists()
        assert store.require(task_id).audio_purged_at is not None
    after = tree(settings.audio_dir)
    assert after == {k: v for k, v in before.items() if k.split("/")[0] not in gone}
    assert real.bytes_freed == sum(v for k, v in before.items() if k.split("/")[0] in gone)


def test_pending_and_running_tasks_are_never_touched_even_by_emergency_age(tasks: Tasks, settings: Settings,
                                                                          store: TaskStore) -> None:
    tasks.make("ancient-running", TaskStatus.PROCESSING_LLM, 400)
    tasks.make("ancient-pending", TaskStatus.PENDING, 400)
    zero = Settings(**{**settings.model_dump(), "RETENTION_DAYS": 0})
    before = tree(settings.audio_dir)
    outcome = execute(plan_clean_audio(zero, store), store, dry_run=False)
    assert outcome.files == [] and outcome.tasks == []
    assert tree(settings.audio_dir) == before
    assert store.require("ancient-running").status == TaskStatus.PROCESSING_LLM


def test_orphaned_folder_goes_only_when_old(tasks: Tasks, settings: Settings, store: TaskStore) -> None:
    old_orphan = tasks.audio("no-such-task-old")
    new_orphan = tasks.audio("no-such-task-new")
    for path in old_orphan.parent.rglob("*"):
        os.utime(path, (0, 0))
    outcome = execute(plan_clean_audio(settings, store), store, dry_run=False)
    assert {f.path.parent.name for f in outcome.files} >= {"no-such-task-old"}
    assert not old_orphan.parent.exists()
    assert new_orphan.exists()


def test_clean_results_expires_then_vacuums(tasks: Tasks, settings: Settings, store: TaskStore) -> None:
    for i in range(6):
        tasks.make(f"big-{i}", TaskStatus.COMPLETE, 2.0, results_bytes=400_000)
    tasks.make("fresh", TaskStatus.COMPLETE, 0.0, results_bytes=400_000)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the rows are in the main file, not the WAL
    size_before = settings.db_path.stat().st_size

    dry_plan = plan_clean_results(settings.RESULT_TTL, store)
    dry = execute(dry_plan, store, dry_run=True)
    assert store.require("big-0").results is not None
    assert dry.vacuumed, "six 400 kB results out of seven are worth a vacuum"

    real = execute(plan_clean_results(settings.RESULT_TTL, store), store, dry_run=False)
    assert [t.task_id for t in real.tasks] == [t.task_id for t in dry.tasks] == [f"big-{i}" for i in range(6)]
    assert all(t.action == TaskAction.EXPIRE_RESULTS for t in real.tasks)
    assert real.bytes_freed == dry.bytes_freed >= 6 * 400_000
    assert real.vacuumed
    assert store.require("big-3").results is None and store.require("big-3").results_expired_at
    assert store.require("fresh").results is not None
    assert settings.db_path.stat().st_size < size_before / 3


def test_row_goes_once_audio_purged_and_results_expired(tasks: Tasks, settings: Settings, store: TaskStore) -> None:
    tasks.make("done", TaskStatus.COMPLETE, OLD)
    tasks.make("kept", TaskStatus.COMPLETE, RECENT)
    execute(plan_clean_results(settings.RESULT_TTL, store), store, dry_run=False)
    assert store.get("done") is not None, "the row answers 410 until its audio is purged"
    execute(plan_clean_audio(settings, store), store, dry_run=False)
    assert store.get("done") is None
    assert store.get("kept") is not None


def write_env(path: Path, settings: Settings, **values: str) -> Path:
    lines = [f"DATA_DIR={settings.DATA_DIR}", f"LOG_DIR={settings.log_dir}"]
    lines += [f"{k}={v}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_clean_all_honours_DRY_RUN_and_SKIP_CACHE(tasks: Tasks, settings: Settings, store: TaskStore,
                                                     tmp_path: Path) -> None:
    populate(tasks)
    settings.log_dir.mkdir(parents=True)
    old_log = settings.log_dir / "maied.log.1"
    old_log.write_text("old\n")
    os.utime(old_log, (0, 0))
    before = tree(settings.DATA_DIR)
    runner = CliRunner()

    env = write_env(tmp_path / "dry.env", settings, DRY_RUN="true")
    result = runner.invoke(maintenance, ["clean-all", "--json"], env={"MAIE_ENV_FILE": str(env)})
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert [o["verb"] for o in body["outcomes"]] == ["clean-results", "clean-audio", "clean-logs"]
    assert all(o["dry_run"] for o in body["outcomes"])
    assert {k: v for k, v in tree(settings.DATA_DIR).items() if not k.startswith("maie.db")} == \
        {k: v for k, v in before.items() if not k.startswith("maie.db")}
    would = {f["path"] for o in body["outcomes"] for f in o["files"]}

    env = write_env(tmp_path / "real.env", settings, SKIP_CACHE="true")
    result = runner.invoke(maintenance, ["clean-all"], env={"MAIE_ENV_FILE": str(env)})
    assert result.exit_code == 0, result.output
    deleted = {line.split(" ")[1] for line in result.output.splitlines() if line.startswith("deleted ")}
    assert deleted == would
    assert "clean-results" not in result.output
    assert store.require("old-complete").results is not None, "SKIP_CACHE keeps results"
    assert not old_log.exists()


def test_cli_without_a_database_creates_none(settings: Settings, tmp_path: Path) -> None:
    env = write_env(tmp_path / "m.env", settings)
    result = CliRunner().invoke(maintenance, ["clean-audio"], env={"MAIE_ENV_FILE": str(env)})
    assert result.exit_code == 0, result.output
    assert "no database" in result.output
    assert not settings.db_path.exists()
