"""Shared by the reliability tests: a tiny real recording, the state of a stopped daemon's folder."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.audio_fixtures import require_tools
from tests.e2e.daemon_harness import Daemon, _not_zombie, all_gone
from tests.fake_asr import FAKE_ASR

__all__ = ["all_gone"]

LONG = os.environ.get("MAIE_LONG_TESTS") == "1"


def tone_wav(path: Path, seconds: float = 1.5) -> Path:
    """A real 16 kHz WAV made by sox (a 440 Hz tone): decodes in milliseconds."""
    require_tools("sox")
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(path), "synth", str(seconds),
                    "sine", "440", "vol", "0.3"], check=True, capture_output=True)
    return path


@dataclass
class Row:
    id: str
    status: str
    error_code: str | None
    raw_transcript: str | None
    completed_at: float | None
    audio_path: str | None


def read_rows(db: Path) -> dict[str, Row]:
    """Every task row, read straight from the database file (the daemon is stopped or reading)."""
    import json

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT id, status, error_code, results, completed_at, audio_path FROM tasks").fetchall()
    finally:
        conn.close()
    out = {}
    for task_id, status, code, results, completed, audio in rows:
        text = json.loads(results).get("raw_transcript") if results else None
        out[task_id] = Row(task_id, status, code, text, completed, audio)
    return out


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def audio_folders(data_dir: Path) -> set[str]:
    audio = data_dir / "audio"
    return {p.name for p in audio.iterdir() if p.is_dir()} if audio.is_dir() else set()


def worker_processes(daemon_pids: set[int]) -> list[int]:
    """Every live worker child (or engine subprocess of one) of the daemons with these pids: they all
    carry MAIE_WORKER_PARENT=<daemon pid> (other daemons on this machine are not ours to judge)."""
    wanted = {str(p) for p in daemon_pids}
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get("MAIE_WORKER_PARENT") in wanted and _not_zombie(proc):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def daemon_on_tmpfs(size_mb: int, **env: str) -> Iterator[Daemon]:
    """A daemon (fake ASR, no LLM) whose DATA_DIR is a tmpfs of `size_mb` MB: a disk that really fills.
    Needs root (mount); skips otherwise. Always unmounts and removes its state."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs")
    state = Path(tempfile.mkdtemp(prefix="maie-full-", dir=tempfile.gettempdir()))
    daemon = Daemon(state, {**FAKE_ASR, "LLM_BACKEND": "none", **env})
    daemon.data_dir.mkdir(parents=True)
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs",
                            str(daemon.data_dir)], capture_output=True)
    if mount.returncode != 0:
        shutil.rmtree(state, ignore_errors=True)
        pytest.skip("cannot mount a tmpfs here")
    try:
        daemon.start()
        yield daemon
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.terminate()
        subprocess.run(["umount", str(daemon.data_dir)], check=False)
        shutil.rmtree(state, ignore_errors=True)
