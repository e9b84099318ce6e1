"""Decode uploaded audio with PyAV into 16 kHz mono float32, through the sniffing and the explicit demuxers of
maied.media_probe (which also probes uploads for the API): no other demuxer (HLS or DASH playlists,
ffconcat, image sequences) is ever chosen by FFmpeg's probing, and no demuxer can reach another local file or
URL.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from maied.domain import SAMPLE_RATE
from maied.errors import AudioDecodeError, AudioTooLong, AudioTooShort, UnsupportedMedia
from maied.media_probe import (  # noqa: F401 - the probe's names, also reached through this module
    ALLOWED_CONTAINERS,
    ALLOWED_DESCRIPTION,
    DEMUXERS,
    MAX_BAD_PACKETS,
    MediaInfo,
    container_of,
    ffmpeg_reason,
    open_input,
    probe_media,
    sniff_container,
)

log = logging.getLogger(__name__)

AUDIO_MIN_SECONDS = 1.0


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
        container = container_of(path)
    except UnsupportedMedia as exc:
        raise AudioDecodeError(f"{path.name}: {exc.message}") from None
    try:
        with open_input(path, container) as handle:
            if not handle.streams.audio:
                raise AudioDecodeError(f"{path.name}: the file has no audio stream")
            yield from _decode_stream(handle, handle.streams.audio[0])
    except av.error.FFmpegError as exc:
        raise AudioDecodeError(f"{path.name}: cannot decode the {container} audio: {ffmpeg_reason(exc)}") from None


def _decode_stream(handle: Any, stream: Any) -> Generator[np.ndarray, None, None]:
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    bad = 0
    for packet in _demux_until_damage(handle, stream):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError as exc:
            bad += 1
            log.debug("skipping an undecodable packet: %s", ffmpeg_reason(exc))
            if bad > MAX_BAD_PACKETS:
                raise AudioDecodeError(f"too many undecodable packets ({bad}): {ffmpeg_reason(exc)}") from None
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
            log.warning("audio ends early after %d packets: %s", count, ffmpeg_reason(exc))
            return
        count += 1
        yield packet


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
