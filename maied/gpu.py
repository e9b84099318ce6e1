"""GPU facts the daemon reads without importing torch: nvidia-smi's answers."""

from __future__ import annotations

import shutil
import subprocess


def nvidia_smi_values(field: str) -> list[float]:
    """One number per GPU for an nvidia-smi `--query-gpu` field (no units); [] without nvidia-smi or on error."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, f"--query-gpu={field}", "--format=csv,noheader,nounits"], capture_output=True,
                             text=True, timeout=10, check=True).stdout
        return [float(line) for line in out.split() if line.strip()]
    except (OSError, subprocess.SubprocessError, ValueError):
        return []
