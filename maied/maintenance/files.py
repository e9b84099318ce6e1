"""Listing and deleting files under one root folder, never following symlinks out of it."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

DAY = 86400.0


@dataclass(frozen=True)
class FileInfo:
    path: Path
    size: int
    mtime: float


def walk_files(folder: Path) -> list[FileInfo]:
    """Regular files and symlinks (as links, not targets) under folder, sorted by path."""
    found: list[FileInfo] = []
    if not folder.is_dir() or folder.is_symlink():
        return found
    for dirpath, _dirs, names in os.walk(folder, followlinks=False):
        for name in names:
            path = Path(dirpath) / name
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue
            found.append(FileInfo(path, st.st_size, st.st_mtime))
    return sorted(found, key=lambda f: str(f.path))


def age_days(mtime: float, now: float | None = None) -> float:
    return ((time.time() if now is None else now) - mtime) / DAY


def is_under(path: Path, root: Path) -> bool:
    """True when path lies strictly inside root (compared without resolving the final component)."""
    try:
        parent = path.parent.resolve()
        root = root.resolve()
    except OSError:
        return False
    return parent == root or root in parent.parents


def check_root(root: Path) -> None:
    """Refuse a folder that is obviously not a maie data folder (/, /var, ...)."""
    resolved = root.resolve()
    if len(resolved.parts) < 3:
        raise ValueError(f"refusing to clean {root}: not a dedicated folder (set it to e.g. /var/lib/maie/audio)")


def remove_empty_dirs(folder: Path, root: Path) -> None:
    """Remove folder and its empty subfolders, bottom-up, but never root itself."""
    if not folder.is_dir() or folder.is_symlink() or folder.resolve() == root.resolve():
        return
    for dirpath, _dirs, _names in sorted(os.walk(folder), key=lambda t: -len(t[0])):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)
