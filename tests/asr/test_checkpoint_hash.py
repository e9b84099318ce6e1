"""checkpoint_sha256: correct, computed once, recomputed when the file changes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from maied.asr.checkpoint import CACHE_SUFFIX, checkpoint_sha256


def test_hash_is_sha256_and_cached_next_to_the_weights(tmp_path: Path) -> None:
    weights = tmp_path / "model.bin"
    weights.write_bytes(os.urandom(300_000))
    expected = "sha256:" + hashlib.sha256(weights.read_bytes()).hexdigest()
    assert checkpoint_sha256(weights) == expected

    cache = tmp_path / ("model.bin" + CACHE_SUFFIX)
    data = json.loads(cache.read_text())
    assert data["sha256"] == expected
    # Prove the cache is what answers: plant a different hash under the same size+mtime key.
    cache.write_text(json.dumps({**data, "sha256": "sha256:planted"}))
    assert checkpoint_sha256(weights) == "sha256:planted"


def test_changed_weights_are_hashed_again(tmp_path: Path) -> None:
    weights = tmp_path / "model.bin"
    weights.write_bytes(b"a" * 1000)
    first = checkpoint_sha256(weights)
    weights.write_bytes(b"b" * 1000)  # same size: the mtime tells it changed
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1_000_000))
    assert checkpoint_sha256(weights) == "sha256:" + hashlib.sha256(b"b" * 1000).hexdigest() != first


def test_read_only_folder_still_gives_the_hash(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    weights = folder / "model.bin"
    weights.write_bytes(b"weights")
    folder.chmod(0o555)
    try:
        assert checkpoint_sha256(weights) == "sha256:" + hashlib.sha256(b"weights").hexdigest()
    finally:
        folder.chmod(0o755)
