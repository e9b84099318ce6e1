"""sha256 of a model's weights, computed once and cached in a small file next to them."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_SUFFIX = ".sha256.json"


def checkpoint_sha256(weights: Path) -> str:
    """`sha256:<hex>` of `weights`; cached in `<weights>.sha256.json`, keyed by size and mtime."""
    stat = weights.stat()
    key = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    cache = weights.with_name(weights.name + CACHE_SUFFIX)
    cached = _read_cache(cache)
    if cached and cached.get("size") == key["size"] and cached.get("mtime_ns") == key["mtime_ns"]:
        return str(cached["sha256"])
    digest = "sha256:" + _hash_file(weights)
    _write_cache(cache, {**key, "sha256": digest})
    return digest


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(4 * 1024 * 1024):
            h.update(block)
    return h.hexdigest()


def _read_cache(cache: Path) -> dict | None:
    try:
        data = json.loads(cache.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "sha256" in data else None


def _write_cache(cache: Path, data: dict) -> None:
    """Write atomically; a read-only model folder just means the hash is computed again next time."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=cache.name + ".", dir=cache.parent)
    except OSError as exc:
        log.debug("not caching the checkpoint hash in %s: %s", cache.parent, exc)
        return
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, cache)
    except OSError as exc:
        log.debug("not caching the checkpoint hash at %s: %s", cache, exc)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
