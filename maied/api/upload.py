"""Stream a multipart upload to AUDIO_DIR/<task_id>/ with our own size limit, then probe its content."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from maied.api.connections import read_within
from maied.errors import DiskFull, FileTooLarge, InvalidRequest, UnsupportedMedia

CHUNK = 256 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 200
SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Upload:
    path: Path | None = None
    filename: str | None = None
    size: int = 0
    fields: list[tuple[str, str]] = field(default_factory=list)


def safe_filename(name: str | None) -> str:
    """Keep only a harmless base name: no directories, no traversal, no odd characters."""
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = SAFE_NAME_RE.sub("_", base).lstrip(".")[:120]
    return base or "upload"


async def receive_upload(request: web.Request, task_dir: Path, max_bytes: int) -> Upload:
    """Read every part: text fields into memory (bounded), the `file` part to disk (bounded)."""
    if request.content_length is not None and request.content_length > max_bytes + 1024 * 1024:
        raise FileTooLarge(_too_large(max_bytes), details={"limit_bytes": max_bytes})
    if not request.content_type.startswith("multipart/"):
        raise InvalidRequest("POST /v1/process takes multipart/form-data with a `file` part")
    upload = Upload()
    try:
        reader = await request.multipart()
        while (part := await read_within(reader.next())) is not None:
            if not isinstance(part, BodyPartReader):
                raise InvalidRequest("nested multipart is not accepted")
            await _receive_part(part, upload, task_dir, max_bytes)
    except (ValueError, AssertionError, HttpProcessingError) as exc:  # malformed multipart framing or part headers
        raise InvalidRequest(f"malformed multipart body: {exc}") from None
    if upload.path is None:
        raise InvalidRequest("no `file` part in the upload")
    return upload


async def _receive_part(part: BodyPartReader, upload: Upload, task_dir: Path, max_bytes: int) -> None:
    if part.name == "file":
        if upload.path is not None:
            raise InvalidRequest("only one `file` part is accepted")
        upload.filename = safe_filename(part.filename)
        upload.path = task_dir / ("original-" + upload.filename)
        try:
            task_dir.mkdir(parents=True, exist_ok=True)
            upload.size = await _stream_to_file(part, upload.path, max_bytes)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # the disk filled during this upload
                raise DiskFull("the data disk filled up during the upload; free space (maied maintenance"
                               " clean-all) and retry") from None
            raise
        return
    if len(upload.fields) >= MAX_FIELDS:
        raise InvalidRequest(f"too many form fields (limit {MAX_FIELDS})")
    data = await read_within(part.read_chunk(MAX_FIELD_BYTES + 1))
    if len(data) > MAX_FIELD_BYTES:
        raise InvalidRequest(f"form field {part.name!r} is longer than {MAX_FIELD_BYTES} bytes")
    try:
        upload.fields.append((part.name or "", data.decode("utf-8")))
    except UnicodeDecodeError:
        raise InvalidRequest(f"form field {part.name!r} is not UTF-8") from None


async def _stream_to_file(part: BodyPartReader, path: Path, max_bytes: int) -> int:
    size = 0
    with open(path, "wb") as out:
        while chunk := await read_within(part.read_chunk(CHUNK)):
            size += len(chunk)
            if size > max_bytes:
                raise FileTooLarge(_too_large(max_bytes), details={"limit_bytes": max_bytes})
            out.write(chunk)
        out.flush()
        await asyncio.to_thread(os.fsync, out.fileno())
    if size == 0:
        raise UnsupportedMedia("the uploaded file is empty")
    return size


def _too_large(max_bytes: int) -> str:
    return f"the upload is larger than MAX_FILE_SIZE_MB ({max_bytes / 1024 / 1024:g} MB)"


def discard(task_dir: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(task_dir)
