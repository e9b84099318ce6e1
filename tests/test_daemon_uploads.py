"""Start-up removes upload folders that have no task row (an upload cut off by a kill). With a shared
AUDIO_DIR a folder without a row may be another host's upload in progress: only old ones go."""

from __future__ import annotations

import os
import time
from pathlib import Path

from maied.daemon import SHARED_UPLOAD_GRACE_SECONDS, remove_unclaimed_uploads
from maied.settings import load_settings
from maied.store import TaskStore
from maied.store.postgres import PostgresTaskStore


def folders(audio: Path, *names: str, age: float = 0.0) -> None:
    for name in names:
        (audio / name).mkdir(parents=True)
        (audio / name / "a.wav").write_bytes(b"x")
        then = time.time() - age
        os.utime(audio / name, (then, then))


def test_one_host_removes_every_unclaimed_folder(tmp_path: Path) -> None:
    settings = load_settings({"MAIE_ENV_FILE": str(tmp_path / "none"), "DATA_DIR": str(tmp_path)})
    folders(settings.audio_dir, "cut-off")
    store = TaskStore(settings.db_path)
    try:
        assert remove_unclaimed_uploads(settings, store) == ["cut-off"]
    finally:
        store.close()


def test_a_cluster_host_leaves_young_folders_to_their_uploads(tmp_path: Path, pg_url: str) -> None:
    settings = load_settings({"MAIE_ENV_FILE": str(tmp_path / "none"), "DATA_DIR": str(tmp_path),
                              "DATABASE_URL": pg_url})
    folders(settings.audio_dir, "uploading-on-h2")
    folders(settings.audio_dir, "cut-off-long-ago", age=SHARED_UPLOAD_GRACE_SECONDS + 60)
    store = PostgresTaskStore(pg_url)
    try:
        assert remove_unclaimed_uploads(settings, store) == ["cut-off-long-ago"]
        assert (settings.audio_dir / "uploading-on-h2").is_dir()
    finally:
        store.close()
