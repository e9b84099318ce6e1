"""disk-monitor, emergency cleanup and the 507 check, on a real small filesystem (tmpfs, needs root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from maied.diskusage import DiskUsage, disk_usage, disk_used_percent, ensure_below_threshold
from maied.domain import TaskStatus
from maied.errors import DiskFull
from maied.maintenance.cli import maintenance
from maied.maintenance.disk import count_until_below
from maied.settings import Settings
from maied.store import TaskStore
from tests.maintenance.conftest import Clock, Tasks, make_settings

MiB = 1 << 20


def test_used_percent_matches_df(tmp_path: Path) -> None:
    out = subprocess.run(["df", "--output=pcent", str(tmp_path)], capture_output=True, text=True, check=True)
    df_percent = float(out.stdout.splitlines()[1].strip().rstrip("%"))
    # df rounds up to a whole percent; other writers may change the disk a little in between
    assert df_percent - 1.5 <= disk_used_percent(tmp_path) <= df_percent + 0.5
    assert disk_used_percent(tmp_path / "not" / "made" / "yet") == pytest.approx(disk_used_percent(tmp_path), abs=0.5)


def test_507_when_above_threshold(tmp_path: Path) -> None:
    used = disk_used_percent(tmp_path)
    with pytest.raises(DiskFull) as caught:
        ensure_below_threshold(tmp_path, max(used - 1, 0.01))
    assert caught.value.status == 507 and caught.value.code == "DISK_FULL"
    assert "DISK_THRESHOLD" in caught.value.message
    assert caught.value.to_body()["error"]["details"]["used_percent"] == pytest.approx(used, abs=1)
    assert ensure_below_threshold(tmp_path, 100).used_percent == pytest.approx(used, abs=1)


def test_count_until_below_takes_the_oldest_needed_only() -> None:
    usage = DiskUsage("/x", 100, 90, 10)  # 90 %
    assert count_until_below([5, 5, 5, 5], usage, 80) == 2
    assert count_until_below([30, 5], usage, 80) == 1
    assert count_until_below([1, 1], usage, 80) == 2, "all of them when even that is not enough"
    assert count_until_below([5], DiskUsage("/x", 100, 50, 50), 80) == 0


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """An 8 MiB tmpfs under the temp dir: its use is ours alone, so percentages are exact."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mountpoint = Path(tempfile.mkdtemp(prefix="maie-disk-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mountpoint)], capture_output=True)
    if done.returncode != 0:
        mountpoint.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=False)
        mountpoint.rmdir()


def fill(tasks: Tasks, task_id: str, status: TaskStatus, days_ago: float, mib: int) -> None:
    tasks.make(task_id, status, days_ago)
    (tasks.settings.audio_dir / task_id / "derived" / "chunks.bin").write_bytes(os.urandom(mib * MiB))


def test_disk_monitor_emergency_frees_oldest_first(small_disk: Path, sample_wav: Path, tmp_path: Path) -> None:
    settings = make_settings(small_disk / "maie", DISK_THRESHOLD="50")
    clock = Clock()
    store = TaskStore(settings.db_path, clock=clock)
    tasks = Tasks(settings, store, clock, sample_wav)
    try:
        fill(tasks, "oldest", TaskStatus.COMPLETE, 3, 2)
        fill(tasks, "older", TaskStatus.FAILED, 2, 2)
        fill(tasks, "newest", TaskStatus.COMPLETE, 1, 2)
        fill(tasks, "running", TaskStatus.PROCESSING_ASR, 5, 1)
        start = disk_usage(settings.audio_dir)
        assert start.used_percent > 80
        env_file = tmp_path / "maie.env"
        env_file.write_text(f"DATA_DIR={settings.DATA_DIR}\nLOG_DIR={settings.log_dir}\nDISK_THRESHOLD=50\n")
        runner = CliRunner()

        watch = runner.invoke(maintenance, ["disk-monitor"], env={"MAIE_ENV_FILE": str(env_file)})
        assert watch.exit_code == 1 and "ABOVE DISK_THRESHOLD=50%" in watch.output
        assert disk_usage(settings.audio_dir).used_bytes == start.used_bytes, "no EMERGENCY_CLEANUP: deletes nothing"

        env = {"MAIE_ENV_FILE": str(env_file), "EMERGENCY_CLEANUP": "true"}
        dry = runner.invoke(maintenance, ["disk-monitor", "--dry-run"], env=env)
        assert dry.exit_code == 0, dry.output
        assert (settings.audio_dir / "oldest").exists()

        real = runner.invoke(maintenance, ["disk-monitor"], env=env)
        assert real.exit_code == 0, real.output
        assert [ln for ln in dry.output.splitlines() if "would delete" in ln] == \
            [ln.replace("deleted", "would delete", 1) for ln in real.output.splitlines() if ln.startswith("deleted")]
        assert not (settings.audio_dir / "oldest").exists() and not (settings.audio_dir / "older").exists()
        assert (settings.audio_dir / "newest").exists(), "stops as soon as the disk is under the threshold"
        assert (settings.audio_dir / "running" / "derived" / "chunks.bin").exists()
        assert disk_used_percent(settings.audio_dir) <= 50
        with pytest.raises(DiskFull):
            ensure_below_threshold(settings.audio_dir, 10)
    finally:
        store.close()


def test_disk_monitor_under_threshold_is_quiet(settings: Settings, tmp_path: Path) -> None:
    result = CliRunner().invoke(maintenance, ["disk-monitor", "--json"],
                                env={"MAIE_ENV_FILE": str(tmp_path / "none.env"), "DATA_DIR": str(settings.DATA_DIR),
                                     "DISK_THRESHOLD": "100", "EMERGENCY_CLEANUP": "true"})
    assert result.exit_code == 0, result.output
    assert '"above_threshold": false' in result.output
