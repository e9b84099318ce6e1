"""Embedded models: found without importing their packages, assembled once from parts, sha256 checked."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from maied.errors import ModelNotFound
from maied.llm.embedded import EmbeddedModel, available, ensure_gguf, located

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]


@pytest.fixture
def parts_on_path(tmp_path: Path) -> Iterator[Path]:
    site = tmp_path / "site"
    for n, data in enumerate(PARTS, start=1):
        pkg = site / f"maie_testparts_p{n}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise ImportError('model packages are never imported')\n")
        (pkg / "data" / f"part{n:02d}.bin").write_bytes(data)
    sys.path.insert(0, str(site))
    yield site
    sys.path.remove(str(site))


def _model(**values: object) -> EmbeddedModel:
    whole = b"".join(PARTS)
    fields: dict[str, object] = dict(
        key="test-model", name="Test", filename="test.gguf",
        packages=tuple(f"maie_testparts_p{n}" for n in range(1, len(PARTS) + 1)), part="data/part{n:02d}.bin",
        licence="Apache-2.0", context_length=512, size=len(whole), sha256=hashlib.sha256(whole).hexdigest())
    fields.update(values)
    return EmbeddedModel(**fields)  # type: ignore[arg-type]


def test_parts_are_assembled_once_into_models_dir(parts_on_path: Path, tmp_path: Path) -> None:
    model, models = _model(), tmp_path / "models"
    assert available(model, models) and located(model, models) is None
    path = ensure_gguf(model, models)
    assert path == models / "test.gguf" and path.read_bytes() == b"".join(PARTS)
    assert located(model, models) == path
    mtime = path.stat().st_mtime_ns
    assert ensure_gguf(model, models) == path and path.stat().st_mtime_ns == mtime
    assert [p.name for p in models.iterdir() if not p.name.startswith(".")] == ["test.gguf"]


def test_parts_that_do_not_match_the_pinned_hash_are_refused(parts_on_path: Path, tmp_path: Path) -> None:
    model, models = _model(sha256="0" * 64), tmp_path / "models"
    with pytest.raises(ModelNotFound, match="do not add up"):
        ensure_gguf(model, models)
    assert not (models / "test.gguf").exists()
    assert [p for p in models.iterdir() if p.suffix == ".tmp"] == []


def test_a_missing_part_names_what_to_install(parts_on_path: Path, tmp_path: Path) -> None:
    model = _model(packages=("maie_testparts_p1", "maie_testparts_nothere"), install_hint="pip install it")
    assert not available(model, tmp_path)
    with pytest.raises(ModelNotFound, match="pip install it"):
        ensure_gguf(model, tmp_path)


def test_a_file_of_the_wrong_size_is_not_taken_for_the_model(parts_on_path: Path, tmp_path: Path) -> None:
    model, models = _model(), tmp_path / "models"
    models.mkdir()
    (models / "test.gguf").write_bytes(b"half")
    assert located(model, models) is None
    assert ensure_gguf(model, models).read_bytes() == b"".join(PARTS)
