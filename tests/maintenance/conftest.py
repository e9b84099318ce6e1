"""Real files (sox-made audio) and a real SQLite store made with TaskStore, in a temp data folder."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from maied.domain import PipelineOutput, TaskKind, TaskRequest, TaskStatus
from maied.settings import Settings, load_settings
from maied.store import NewTask, TaskStore

DAY = 86400.0


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="session")
def sample_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half a second of a real 16 kHz recording (sox), and its derived 8 kHz copy's source."""
    if shutil.which("sox") is None:
        pytest.skip("sox is not installed")
    path = tmp_path_factory.mktemp("audio") / "tone.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(path), "synth", "0.5", "sine", "440"],
                   check=True)
    return path


def make_settings(data_dir: Path, **values: str) -> Settings:
    environ = {"MAIE_ENV_FILE": str(data_dir / "absent.env"), "DATA_DIR": str(data_dir),
               "LOG_DIR": str(data_dir / "logs"), **values}
    return load_settings(environ)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(settings: Settings, clock: Clock) -> Iterator[TaskStore]:
    s = TaskStore(settings.db_path, clock=clock)
    yield s
    s.close()


@dataclass
class Tasks:
    """Builds tasks in a given state, finished a given number of days ago, each with real audio."""

    settings: Settings
    store: TaskStore
    clock: Clock
    wav: Path

    def audio(self, task_id: str) -> Path:
        folder = self.settings.audio_dir / task_id
        folder.mkdir(parents=True, exist_ok=True)
        upload = folder / "upload.wav"
        shutil.copyfile(self.wav, upload)
        derived = folder / "derived" / "mono16k.wav"
        derived.parent.mkdir(exist_ok=True)
        subprocess.run(["sox", str(upload), "-r", "8000", str(derived)], check=True)
        return upload

    def make(self, task_id: str, status: TaskStatus, days_ago: float, *, results_bytes: int = 100) -> None:
        real_now = self.clock.now
        self.clock.now = real_now - days_ago * DAY
        try:
            upload = self.audio(task_id)
            self.store.submit(NewTask(id=task_id, kind=TaskKind.AUDIO, owner="uid:1000", request=TaskRequest(),
                                      audio_path=str(upload)))
            self._drive(task_id, status, results_bytes)
        finally:
            self.clock.now = real_now

    def _drive(self, task_id: str, status: TaskStatus, results_bytes: int) -> None:
        if status == TaskStatus.PENDING:
            return
        if status == TaskStatus.CANCELLED:
            self.store.request_cancel(task_id)
            return
        claimed = self.store.claim_next()
        assert claimed is not None and claimed.id == task_id, "make tasks in submission order"
        if status == TaskStatus.COMPLETE:
            self.store.complete(task_id, PipelineOutput(results={"raw_transcript": "x" * results_bytes}))
        elif status == TaskStatus.FAILED:
            self.store.fail(task_id, "ASR_PROCESSING_ERROR", "broken")
        elif status != TaskStatus.PREPROCESSING:
            self.store.set_stage(task_id, status)


@pytest.fixture
def tasks(settings: Settings, store: TaskStore, clock: Clock, sample_wav: Path) -> Tasks:
    return Tasks(settings, store, clock, sample_wav)


def tree(root: Path) -> dict[str, int]:
    """Every file under root with its size: a snapshot to compare before and after."""
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}
