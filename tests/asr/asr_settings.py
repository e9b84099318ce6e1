"""Settings for ASR tests: no env file, state under a temporary folder."""

from __future__ import annotations

from pathlib import Path

from maied.settings import Settings, load_settings


def asr_test_settings(data_dir: Path, **values: str) -> Settings:
    """Settings with state under `data_dir` and the given variables on top (no env file is read)."""
    environ = {"MAIE_ENV_FILE": str(data_dir / "absent.env"), "DATA_DIR": str(data_dir), **values}
    return load_settings(environ)
