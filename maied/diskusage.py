"""How full the data disk is: the number behind 507 DISK_FULL and `maied maintenance disk-monitor`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from maied.errors import DiskFull


@dataclass(frozen=True)
class DiskUsage:
    """One filesystem's use, counted the way `df` does (blocks reserved for root are not available)."""

    path: str
    total_bytes: int
    used_bytes: int
    available_bytes: int

    @property
    def used_percent(self) -> float:
        usable = self.used_bytes + self.available_bytes
        return 100.0 * self.used_bytes / usable if usable else 0.0

    def percent_after_freeing(self, freed_bytes: int) -> float:
        usable = self.used_bytes + self.available_bytes
        return 100.0 * max(self.used_bytes - freed_bytes, 0) / usable if usable else 0.0


def _existing(path: Path) -> Path:
    """The path itself or its nearest existing parent (DATA_DIR may not be created yet)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def disk_usage(path: str | os.PathLike[str]) -> DiskUsage:
    where = _existing(Path(path))
    st = os.statvfs(where)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    return DiskUsage(str(where), st.f_blocks * st.f_frsize, used, st.f_bavail * st.f_frsize)


def disk_used_percent(path: str | os.PathLike[str]) -> float:
    """Percent of the filesystem holding `path` in use (0-100), as `df` reports it."""
    return disk_usage(path).used_percent


def ensure_below_threshold(path: str | os.PathLike[str], threshold_percent: float) -> DiskUsage:
    """Raise DiskFull (507) when the disk holding `path` is above `threshold_percent`; else its usage."""
    usage = disk_usage(path)
    if usage.used_percent > threshold_percent:
        raise DiskFull(
            f"the data disk is {usage.used_percent:.1f}% full, above DISK_THRESHOLD={threshold_percent:g}%:"
            " new uploads are refused until space is freed (maied maintenance clean-all or disk-monitor)",
            details={"path": usage.path, "used_percent": round(usage.used_percent, 2),
                     "threshold_percent": threshold_percent, "available_bytes": usage.available_bytes},
        )
    return usage
