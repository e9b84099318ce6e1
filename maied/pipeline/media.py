"""Probe and decode uploaded audio with PyAV, allowing only a fixed list of containers.

The container is decided from the file's first bytes (`sniff_container`), then the file is opened as a
Python file object with that explicit demuxer and an `io_open` hook that refuses every nested open. So no
other demuxer (HLS or DASH playlists, ffconcat, image sequences) is ever chosen by FFmpeg's probing, and no
demuxer can reach another local file or URL.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from maied.errors import AudioDecodeError, AudioTooLong, AudioTooShort, UnsupportedMedia

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
AUDIO_MIN_SECONDS = 1.0
SNIFF_BYTES = 4096
MAX_BAD_PACKETS = 50

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


def _container_of(path: Path) -> str:
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
def _open_input(path: Path, container: str) -> Iterator[Any]:
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

    container = _container_of(path)
    try:
        with _open_input(path, container) as handle:
            info = _media_info(handle, container)
            if info.has_audio:
                _first_frames_decode(handle, container)
    except (av.error.FFmpegError, AudioDecodeError) as exc:
        raise UnsupportedMedia(f"not a readable {container} file: {_reason(exc)}") from None
    if not info.has_audio:
        raise UnsupportedMedia(f"the {container} file has no audio stream")
    return info


def _first_frames_decode(handle: Any, container: str) -> None:
    """The first frames of the audio decode: random bytes behind a valid-looking header (ID3, ADTS or
    MPEG sync, RIFF...) are refused here (415) rather than accepted and failed later."""
    decoded = _decode_stream(handle, handle.streams.audio[0])
    try:
        first = next(decoded, None)
    finally:
        decoded.close()
    if first is None or first.size == 0:
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


# --- decoding ---------------------------------------------------------------------------------------
def decode_to_mono16k(path: Path, max_seconds: float | None = None,
                      max_audio_seconds: float | None = None) -> np.ndarray:
    """The whole audio track as float32 mono at 16 kHz; raises AudioDecodeError (also past `max_seconds`:
    decoding stops there, so a file whose header understates its length cannot fill the memory)."""
    limit = None if max_seconds is None else round(max_seconds * SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    held = 0
    for chunk in _iter_decoded(path, max_audio_seconds):
        chunks.append(chunk)
        held += chunk.size
        if limit is not None and held > limit:
            raise AudioDecodeError(f"{path.name}: the audio is longer than its header says (more than "
                                   f"{max_seconds:.0f} s decoded); re-encode the file")
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if audio.size == 0:
        raise AudioDecodeError(f"{path.name}: no audio could be decoded (empty or truncated file)")
    return audio


def iter_mono16k_windows(path: Path, window_seconds: float, max_seconds: float | None = None) -> Iterator[np.ndarray]:
    """Float32 mono 16 kHz windows of `window_seconds` (the last may be shorter), decoded as they go;
    AudioTooLong past `max_seconds`."""
    if window_seconds <= 0:
        raise ValueError("window_seconds must be positive")
    size = max(1, round(window_seconds * SAMPLE_RATE))
    pending: list[np.ndarray] = []
    held = 0
    produced = False
    for chunk in _iter_decoded(path, max_seconds):
        pending.append(chunk)
        held += chunk.size
        while held >= size:
            joined = np.concatenate(pending)
            yield joined[:size]
            produced = True
            rest = joined[size:]
            pending, held = ([rest] if rest.size else []), rest.size
    if held:
        yield np.concatenate(pending)
    elif not produced:
        raise AudioDecodeError(f"{path.name}: no audio could be decoded (empty or truncated file)")


def _iter_decoded(path: Path, max_seconds: float | None = None) -> Iterator[np.ndarray]:
    """Mono 16 kHz chunks; AudioTooLong as soon as more than `max_seconds` were decoded (a file whose
    header hides its length, e.g. hours of silence in a small FLAC, stops within seconds)."""
    limit = None if max_seconds is None else round(max_seconds * SAMPLE_RATE)
    held = 0
    for chunk in _iter_decoded_unbounded(path):
        held += chunk.size
        if limit is not None and held > limit:
            raise AudioTooLong(f"{path.name}: the audio is longer than MAX_AUDIO_SECONDS ({max_seconds:g} s)",
                               details={"max_audio_seconds": max_seconds})
        yield chunk


def _iter_decoded_unbounded(path: Path) -> Iterator[np.ndarray]:
    import av

    try:
        container = _container_of(path)
    except UnsupportedMedia as exc:
        raise AudioDecodeError(f"{path.name}: {exc.message}") from None
    try:
        with _open_input(path, container) as handle:
            if not handle.streams.audio:
                raise AudioDecodeError(f"{path.name}: the file has no audio stream")
            yield from _decode_stream(handle, handle.streams.audio[0])
    except av.error.FFmpegError as exc:
        raise AudioDecodeError(f"{path.name}: cannot decode the {container} audio: {_reason(exc)}") from None


def _decode_stream(handle: Any, stream: Any) -> Generator[np.ndarray, None, None]:
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    bad = 0
    for packet in _demux_until_damage(handle, stream):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError as exc:
            bad += 1
            log.debug("skipping an undecodable packet: %s", _reason(exc))
            if bad > MAX_BAD_PACKETS:
                raise AudioDecodeError(f"too many undecodable packets ({bad}): {_reason(exc)}") from None
            continue
        for frame in frames:
            frame.pts = None  # the resampler only needs the samples; odd timestamps must not stop it
            yield from _to_arrays(resampler.resample(frame))
    yield from _to_arrays(resampler.resample(None))


def _demux_until_damage(handle: Any, stream: Any) -> Iterator[Any]:
    """Packets of `stream`; a damaged or cut-off tail ends the stream instead of failing what came before."""
    import av

    packets = handle.demux(stream)
    count = 0
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as exc:
            if count == 0:
                raise
            log.warning("audio ends early after %d packets: %s", count, _reason(exc))
            return
        count += 1
        yield packet


def _reason(exc: Exception) -> str:
    """FFmpeg's message without the file name (server paths must not reach API clients)."""
    return str(getattr(exc, "strerror", None) or exc.__class__.__name__)


def _to_arrays(frames: list[Any]) -> Iterator[np.ndarray]:
    for out in frames:
        samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
        if samples.size:
            yield samples


# --- duration check ---------------------------------------------------------------------------------
def audio_seconds(audio: np.ndarray) -> float:
    return float(audio.shape[0]) / SAMPLE_RATE


def ensure_min_duration(audio: np.ndarray, minimum: float = AUDIO_MIN_SECONDS) -> float:
    """The duration of 16 kHz `audio` in seconds; raises AudioTooShort below `minimum`."""
    return ensure_min_seconds(audio_seconds(audio), minimum)


def ensure_min_seconds(seconds: float, minimum: float = AUDIO_MIN_SECONDS) -> float:
    """`seconds` (of decoded audio); raises AudioTooShort below `minimum`."""
    if seconds < minimum:
        raise AudioTooShort(
            f"the audio is {seconds:.2f} s long; at least {minimum:g} s is needed",
            details={"duration_seconds": round(seconds, 3), "minimum_seconds": minimum},
        )
    return seconds
