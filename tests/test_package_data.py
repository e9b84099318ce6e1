"""Every shipped template is installed by the wheel (pyproject data-files), not only present in the checkout."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_template_folder_is_in_data_files() -> None:
    data_files = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    shipped = {p.name for p in (REPO / "templates").iterdir() if p.is_dir()}
    assert {k.removeprefix("share/maie/templates/") for k in data_files} == shipped


def test_the_product_carries_no_test_code() -> None:
    """Fault injection and fakes live in tests/ (plugged in through ASR_BACKEND_MODULE and LLM_BACKEND_MODULE), never in maied/."""
    for path in (REPO / "maied").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not path.name.startswith("test"), path
        assert "from tests" not in text and "import tests" not in text and "MAIE_TEST_HOOKS" not in text, path
