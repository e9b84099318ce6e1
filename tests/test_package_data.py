"""Every shipped template is installed by the wheel (pyproject data-files), not only present in the checkout."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_template_folder_is_in_data_files() -> None:
    data_files = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    shipped = {p.name for p in (REPO / "templates").iterdir() if p.is_dir()}
    assert {k.removeprefix("share/maie/templates/") for k in data_files} == shipped
