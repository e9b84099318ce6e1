"""Probe uploaded audio with PyAV, allowing only a fixed list of containers (the API checks an upload with
it; the pipeline decodes through the same sniffing and opening, in maied.pipeline.media).

The container is decided from the file's first bytes (`sniff_container`), then the file is opened as a
Python file object with that explicit demuxer and an `io_open` hook that refuses every nested open. So no
other demuxer (HLS or DASH playlists, ffconcat, image sequences) is ever chosen by FFmpeg's probing, and no
demuxer can reach another local file or URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from maied.errors import UnsupportedMedia

SNIFF_BYTES = 4096
MAX_BAD_PACKETS = 50
"""Undecodable packets a recording may have before its decoding (or the probe's first frames) fails."""

# container name -> FFmpeg demuxer passed as `format=`
DEMUXERS: dict[str, str] = {
    "wav": "wav",
    "flac": "flac",
    "mp3": "mp3",
    "ogg": "ogg",
    "mp4": "mov",
    "aac": "aac",
    "webm": "matroska",
    "matroska": "matroska",
}
ALLOWED_CONTAINERS: frozenset[str] = frozenset(DEMUXERS)
ALLOWED_DESCRIPTION = "wav, flac, mp3, ogg/opus, m4a/mp4/aac, webm/matroska"


@dataclass
class MediaInfo:
    container: str
    duration: float | None
    has_audio: bool
    codec: str | None
    sample_rate: int | None
    channels: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "duration": self.duration,
            "has_audio": self.has_audio,
            "codec": self.codec,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
        }


# --- sniffing ---------------------------------------------------------------------------------------
def sniff_container(head: bytes) -> str | None:
    """The allowed container these first bytes start, or None (not one we accept)."""
    if len(head) < 4:
        return None
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if b"webm" in head[:64] else "matroska"
    if head[:3] == b"ID3":
        return _sniff_after_id3(head)
    if _is_adts(head):
        return "aac"
    if _is_mpeg_audio_frame(head):
        return "mp3"
    return None


def _sniff_after_id3(head: bytes) -> str:
    """An ID3v2 tag may precede mp3, ADTS aac or flac: look past it when the head reaches that far."""
    if len(head) >= 10:
        size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
        rest = head[10 + size :]
        if rest[:4] == b"fLaC":
            return "flac"
        if _is_adts(rest):
            return "aac"
    return "mp3"


def _is_adts(head: bytes) -> bool:
    # 12-bit sync 0xFFF, layer bits 00, and a valid sampling-frequency index.
    return len(head) >= 3 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0 and (head[2] >> 2) & 0x0F < 13


def _is_mpeg_audio_frame(head: bytes) -> bool:
    if len(head) < 3 or head[0] != 0xFF or (head[1] & 0xE0) != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0x03, (head[1] >> 1) & 0x03
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0x03
    return version != 0b01 and layer != 0b00 and bitrate != 0x0F and rate != 0x03


# --- opening ----------------------------------------------------------------------------------------
def _refuse_nested_open(url: str, flags: int, options: dict[str, Any]) -> BinaryIO:
    raise PermissionError(f"refused to open {url!r} from inside a media file")


def _read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(SNIFF_BYTES)
    except OSError as exc:
        raise UnsupportedMedia(f"cannot read {path.name}: {exc.strerror or exc}") from None


def container_of(path: Path) -> str:
    """The allowed container `path` holds, from its first bytes; UnsupportedMedia (415) otherwise."""
    head = _read_head(path)
    if not head:
        raise UnsupportedMedia("the file is empty", details={"allowed": ALLOWED_DESCRIPTION})
    container = sniff_container(head)
    if container is None:
        raise UnsupportedMedia(
            f"not an allowed audio container (allowed: {ALLOWED_DESCRIPTION})",
            details={"allowed": ALLOWED_DESCRIPTION},
        )
    return container


@contextlib.contextmanager
def open_input(path: Path, container: str) -> Iterator[Any]:
    """Open `path` with exactly the demuxer for `container`; nested opens are refused."""
    import av

    with path.open("rb") as fileobj:
        handle = av.open(fileobj, mode="r", format=DEMUXERS[container], io_open=_refuse_nested_open)
        try:
            yield handle
        finally:
            handle.close()


# --- probing ----------------------------------------------------------------------------------------
def probe_media(path: Path) -> MediaInfo:
    """Container and audio stream facts from the headers; raises UnsupportedMedia (415)."""
    import av

    container = container_of(path)
    try:
        with open_input(path, container) as handle:
            info = _media_info(handle, container)
            if info.has_audio:
                _first_frames_decode(handle, container)
    except av.error.FFmpegError as exc:
        raise UnsupportedMedia(f"not a readable {container} file: {ffmpeg_reason(exc)}") from None
    if not info.has_audio:
        raise UnsupportedMedia(f"the {container} file has no audio stream")
    return info


def _first_frames_decode(handle: Any, container: str) -> None:
    """The first frames of the audio decode: random bytes behind a valid-looking header (ID3, ADTS or
    MPEG sync, RIFF...) are refused here (415) rather than accepted and failed later."""
    import av

    bad = 0
    for packet in handle.demux(handle.streams.audio[0]):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError as exc:
            bad += 1
            if bad > MAX_BAD_PACKETS:
                raise UnsupportedMedia(f"not a readable {container} file: too many undecodable packets "
                                       f"({bad}): {ffmpeg_reason(exc)}") from None
            continue
        if any(frame.samples for frame in frames):
            return
    raise UnsupportedMedia(f"no audio could be decoded from the start of the {container} file")


def _media_info(handle: Any, container: str) -> MediaInfo:
    streams = list(handle.streams.audio)
    duration = handle.duration / 1_000_000 if handle.duration is not None else None
    if not streams:
        return MediaInfo(container, duration, False, None, None, None)
    stream = streams[0]
    if duration is None and stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    ctx = stream.codec_context
    return MediaInfo(
        container=container,
        duration=duration,
        has_audio=True,
        codec=ctx.name if ctx is not None else None,
        sample_rate=ctx.sample_rate or None if ctx is not None else None,
        channels=ctx.channels or None if ctx is not None else None,
    )


def ffmpeg_reason(exc: Exception) -> str:
    """FFmpeg's message without the file name (server paths must not reach API clients)."""
    return str(getattr(exc, "strerror", None) or exc.__class__.__name__)
