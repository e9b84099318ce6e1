"""`maied models list|pull|import` on real folders and tarballs (the embedded Whisper is a real model)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from maied.cli import cli


def run(data_dir: Path, *args: str, **env: str) -> Result:
    environ = {"MAIE_ENV_FILE": str(data_dir / "absent.env"), "DATA_DIR": str(data_dir),
               "WHISPER_MODEL_VARIANT": "", **env}
    return CliRunner().invoke(cli, ["models", *args], env=environ, catch_exceptions=False)


def chunkformer_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name, data in (("config.yaml", b"model: asr_model\n"), ("pytorch_model.bin", b"w" * 64),
                       ("vocab.txt", b"<blank> 0\n")):
        (folder / name).write_bytes(data)
    return folder


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.fixture(scope="module")
def placed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`models pull` with the embedded default places the real Whisper base folder."""
    data = tmp_path_factory.mktemp("pulled")
    result = run(data, "pull", "--backend", "whisper")
    assert result.exit_code == 0, result.output
    folder = Path(result.output.strip().split(": ", 1)[1])
    assert (folder / "model.bin").stat().st_size == 145_217_532
    return folder


@pytest.mark.slow
def test_pull_places_embedded_and_list_shows_it_present(placed: Path) -> None:
    data = placed.parent.parent
    listed = json.loads(run(data, "list", "--json").output)
    whisper = next(e for e in listed["asr"] if e["backend"] == "whisper")
    assert whisper["present"] is True and whisper["default"] is True
    assert whisper["size_bytes"] >= 145_217_532
    chunk = next(e for e in listed["asr"] if e["backend"] == "chunkformer")
    assert chunk["present"] is False
    text = run(data, "list").output
    assert "whisper (default)" in text and "present" in text and "missing" in text


@pytest.mark.slow
def test_import_real_whisper_folder_and_tarball(placed: Path, tmp_path: Path) -> None:
    result = run(tmp_path, "import", str(placed), "--name", "wbase")
    assert result.exit_code == 0, result.output
    target = tmp_path / "models" / "wbase"
    assert (target / "model.bin").read_bytes()[:4096] == (placed / "model.bin").read_bytes()[:4096]
    archive = tmp_path / "whisper-base-ct2.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(placed, arcname="whisper-base-ct2")
    result = run(tmp_path, "import", str(archive))
    assert result.exit_code == 0, result.output
    assert "whisper model" in result.output
    imported = tmp_path / "models" / "whisper-base-ct2"
    assert (imported / "model.bin").stat().st_size == (placed / "model.bin").stat().st_size
    # the imported folder is what the backend then uses
    listed = json.loads(run(tmp_path, "list", "--json", WHISPER_MODEL_VARIANT="whisper-base-ct2").output)
    whisper = next(e for e in listed["asr"] if e["backend"] == "whisper")
    assert whisper["present"] is True and whisper["path"] == str(imported)
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".")]


def test_import_chunkformer_tar_gz_then_refuses_overwrite(tmp_path: Path) -> None:
    src = chunkformer_folder(tmp_path / "src" / "chunkformer-rnnt-large-vie")
    archive = tmp_path / "cf.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname=src.name)
    data = tmp_path / "data"
    first = run(data, "import", str(archive))
    assert first.exit_code == 0, first.output
    assert "chunkformer model" in first.output
    listed = json.loads(run(data, "list", "--json").output)
    chunk = next(e for e in listed["asr"] if e["backend"] == "chunkformer")
    assert chunk["present"] is True and chunk["path"].endswith("chunkformer-rnnt-large-vie")
    again = run(data, "import", str(archive))
    assert again.exit_code == 1 and "already exists" in again.output
    forced = run(data, "import", str(archive), "--force")
    assert forced.exit_code == 0, forced.output


def test_import_refuses_folder_without_a_model(tmp_path: Path) -> None:
    src = tmp_path / "half"
    src.mkdir()
    (src / "config.yaml").write_text("x")
    (src / "vocab.txt").write_text("x")
    result = run(tmp_path / "data", "import", str(src))
    assert result.exit_code == 1
    assert "holds no model" in result.output
    assert not (tmp_path / "data" / "models" / "half").exists()


@pytest.mark.parametrize("member", ["../escaped.txt", "/abs/escaped.txt", "m/../../escaped.txt"])
def test_import_refuses_tar_members_outside_the_folder(tmp_path: Path, member: str) -> None:
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        add_bytes(tar, "m/model.bin", b"x" * 16)
        add_bytes(tar, member, b"pwned")
    data = tmp_path / "data"
    result = run(data, "import", str(archive))
    assert result.exit_code == 1
    assert "outside the model folder" in result.output
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not (data / "models" / "m").exists()


def test_import_refuses_links_in_tar(tmp_path: Path) -> None:
    archive = tmp_path / "link.tar"
    with tarfile.open(archive, "w") as tar:
        add_bytes(tar, "m/vocab.txt", b"x")
        link = tarfile.TarInfo("m/model.bin")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    result = run(tmp_path / "data", "import", str(archive))
    assert result.exit_code == 1
    assert "not a regular file" in result.output


@pytest.mark.slow
def test_pull_unreachable_hub_is_one_clear_line(tmp_path: Path) -> None:
    result = run(tmp_path, "pull", "--backend", "chunkformer",
                 CHUNKFORMER_MODEL_NAME="khanhld/chunkformer-rnnt-large-vie")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("maied: error:") and "maied models import" in lines[0]


def test_list_aligns_its_columns_and_names_each_licence(tmp_path: Path) -> None:
    lines = run(tmp_path, "list", CHUNKFORMER_MODEL_NAME="khanhld/chunkformer-large-vie").output.splitlines()
    header, rows = lines[1], lines[2:]
    assert header.split() == ["backend", "model", "state", "size", "license", "path"]
    for column in ("model", "state", "size", "license"):
        at = header.index(column)
        assert all(row[at - 2:at] == "  " and row[at] != " " for row in rows), (column, lines)
    assert "MIT" in rows[0] and "CC-BY-NC-4.0" in rows[1]
    listed = json.loads(run(tmp_path, "list", "--json").output)
    assert [e["license"] for e in listed["asr"]][0] == "MIT"


@pytest.mark.parametrize("model, licence", [
    ("embedded-whisper-base", "MIT"), ("large-v3", "MIT"), ("Systran/faster-whisper-large-v3", "MIT"),
    ("khanhld/chunkformer-large-vie", "CC-BY-NC-4.0"), ("SmolLM2-135M-Instruct", "Apache-2.0"),
    ("Qwen/Qwen2.5-7B-Instruct", "Apache-2.0"), ("Qwen/Qwen3-4B-Instruct-2507", "Apache-2.0"),
    ("/models/erax-whisper-ct2", "unknown: see the model card"), ("Qwen/Qwen2.5-3B-Instruct", "unknown: see the model card"),
])
def test_known_licences(model: str, licence: str) -> None:
    from maied.model_inventory import model_license

    assert model_license(model) == licence
