"""The shared audio folder's marker: every host of a cluster must see the same AUDIO_DIR.

The first host writes `AUDIO_DIR/.maie-cluster-id` with a fresh id and stores the id in the database;
every later host finds the same id in its AUDIO_DIR or refuses to start (a local folder where the shared
mount should be would make other hosts' uploads unreadable here).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from maied.store import TaskQueue

MARKER_NAME = ".maie-cluster-id"
CLUSTER_KEY = "audio_dir_id"


class AudioDirMismatch(RuntimeError):
    """This host's AUDIO_DIR is not the folder the cluster shares."""


def read_marker(audio_dir: Path) -> str | None:
    with contextlib.suppress(OSError):
        return (audio_dir / MARKER_NAME).read_text().strip() or None
    return None


def write_marker(audio_dir: Path, marker_id: str) -> None:
    """Write the marker atomically (a temp file renamed), readable by every host."""
    audio_dir.mkdir(parents=True, exist_ok=True)
    temp = audio_dir / f"{MARKER_NAME}.{os.getpid()}.tmp"
    temp.write_text(marker_id + "\n")
    os.chmod(temp, 0o644)
    os.replace(temp, audio_dir / MARKER_NAME)


def check_audio_dir(store: TaskQueue, audio_dir: Path) -> str:
    """The cluster's audio folder id; AudioDirMismatch when `audio_dir` is not that folder."""
    found = read_marker(audio_dir)
    proposed = found or uuid.uuid4().hex
    cluster_id = store.cluster_value(CLUSTER_KEY, proposed)
    if found is None and cluster_id == proposed:  # this host starts the cluster: it marks the folder
        write_marker(audio_dir, cluster_id)
        found = cluster_id
    if found != cluster_id:
        what = "has no marker" if found is None else f"has marker {found}"
        raise AudioDirMismatch(
            f"AUDIO_DIR {audio_dir} is not the cluster's shared audio folder ({MARKER_NAME} {what}, the database"
            f" expects {cluster_id}): mount the shared folder there (see docs/scale-out.md)"
        )
    return cluster_id

