"""probe_media / decode_to_mono16k / iter_mono16k_windows on real files made with espeak-ng and ffmpeg."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from maied.errors import AudioDecodeError, AudioTooShort, UnsupportedMedia
from maied.pipeline.media import (
    ALLOWED_CONTAINERS,
    AUDIO_MIN_SECONDS,
    SAMPLE_RATE,
    decode_to_mono16k,
    ensure_min_duration,
    iter_mono16k_windows,
    probe_media,
    sniff_container,
)
from tests.audio_fixtures import encode, speak_wav, tone_wav, video_without_audio, write_wav

SPEECH = "Testing the media probe with a short English sentence."


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speak_wav(SPEECH, tmp_path_factory.mktemp("media") / "speech.wav")


@pytest.fixture(scope="module")
def speech_seconds(speech_wav: Path) -> float:
    import wave

    with wave.open(str(speech_wav)) as w:
        return w.getnframes() / w.getframerate()


# (encoding name in ENCODINGS, container expected, codec expected)
CASES = [
    ("wav", "wav", "pcm_s16le"),
    ("flac", "flac", "flac"),
    ("mp3", "mp3", "mp3"),
    ("ogg", "ogg", "vorbis"),
    ("opus", "ogg", "opus"),
    ("m4a", "mp4", "aac"),
    ("mp4", "mp4", "aac"),
    ("aac", "aac", "aac"),
    ("webm", "webm", "opus"),
    ("mkv", "matroska", "flac"),
]


@pytest.mark.parametrize(("encoding", "container", "codec"), CASES, ids=[c[0] for c in CASES])
def test_probe_and_decode_each_allowed_container(
    tmp_path: Path, speech_wav: Path, speech_seconds: float, encoding: str, container: str, codec: str
) -> None:
    path = encode(speech_wav, tmp_path, encoding)
    info = probe_media(path)
    assert info.container == container and container in ALLOWED_CONTAINERS
    assert info.has_audio and info.codec is not None and info.codec.startswith(codec)
    assert info.channels == 1 and info.sample_rate in (22050, 48000)
    # raw ADTS has no index: FFmpeg estimates its duration from the bit rate
    assert info.duration == pytest.approx(speech_seconds, rel=0.25 if encoding == "aac" else 0.05)

    audio = decode_to_mono16k(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert audio.size / SAMPLE_RATE == pytest.approx(speech_seconds, abs=0.15)
    assert 0.05 < float(np.abs(audio).max()) <= 1.0  # real speech came through, not silence


def test_probe_reads_headers_only(tmp_path: Path) -> None:
    long_wav = tone_wav(tmp_path / "long.wav", seconds=600, rate=16000, channels=1)  # ~19 MB
    started = time.perf_counter()
    info = probe_media(long_wav)
    took = time.perf_counter() - started
    assert info.duration == pytest.approx(600, abs=0.1)
    assert took < 0.5, f"probe took {took:.2f} s: it must not decode the file"


def test_decode_stereo_44k_downmixes_and_resamples(tmp_path: Path) -> None:
    path = tone_wav(tmp_path / "stereo.wav", seconds=2.0, freq=440.0, rate=44100, channels=2)
    info = probe_media(path)
    assert (info.channels, info.sample_rate) == (2, 44100)
    audio = decode_to_mono16k(path)
    assert audio.size == pytest.approx(2 * SAMPLE_RATE, abs=32)
    spectrum = np.abs(np.fft.rfft(audio))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / audio.size
    assert peak_hz == pytest.approx(440, abs=2)


def test_windows_cover_the_whole_file_in_order(tmp_path: Path, speech_wav: Path) -> None:
    path = encode(speech_wav, tmp_path, "mp3")
    whole = decode_to_mono16k(path)
    windows = list(iter_mono16k_windows(path, window_seconds=1.0))
    assert all(w.size == SAMPLE_RATE for w in windows[:-1])
    assert 0 < windows[-1].size <= SAMPLE_RATE
    np.testing.assert_array_equal(np.concatenate(windows), whole)


# --- rejections -------------------------------------------------------------------------------------
@pytest.fixture
def watched_fifo(tmp_path: Path) -> Iterator[tuple[Path, threading.Event]]:
    """A named pipe and an event set as soon as anything opens it for reading."""
    fifo = tmp_path / "secret.ts"
    os.mkfifo(fifo)
    opened = threading.Event()

    def wait_for_reader() -> None:
        fd = os.open(fifo, os.O_WRONLY)  # blocks until someone opens the pipe for reading
        opened.set()
        os.close(fd)

    thread = threading.Thread(target=wait_for_reader, daemon=True)
    thread.start()
    yield fifo, opened
    if not opened.is_set():  # release the waiting writer
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    thread.join(timeout=5)


PLAYLISTS = {
    "list.m3u8": "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n{name}\n#EXT-X-ENDLIST\n",
    "list.ffconcat": "ffconcat version 1.0\nfile '{name}'\n",
    "disguised.mp3": "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n{name}\n#EXT-X-ENDLIST\n",
}


@pytest.mark.parametrize("filename", sorted(PLAYLISTS))
def test_playlists_are_rejected_without_opening_the_file_they_name(
    watched_fifo: tuple[Path, threading.Event], filename: str
) -> None:
    fifo, opened = watched_fifo
    playlist = fifo.parent / filename
    playlist.write_text(PLAYLISTS[filename].format(name=fifo.name))
    with pytest.raises(UnsupportedMedia) as err:
        probe_media(playlist)
    assert err.value.status == 415 and err.value.code == "UNSUPPORTED_MEDIA"
    with pytest.raises(AudioDecodeError):
        decode_to_mono16k(playlist)
    assert not opened.wait(0.3), "the local file named by the playlist was opened"


def test_plain_ffmpeg_probing_would_open_the_named_file(watched_fifo: tuple[Path, threading.Event]) -> None:
    """Control for the test above: FFmpeg's own format guessing follows the playlist to the local file."""
    import av

    fifo, opened = watched_fifo
    playlist = fifo.parent / "list.m3u8"
    playlist.write_text(PLAYLISTS["list.m3u8"].format(name=fifo.name))

    def plain_open() -> None:
        with contextlib.suppress(Exception):
            av.open(str(playlist)).close()

    threading.Thread(target=plain_open, daemon=True).start()
    assert opened.wait(10), "control failed: plain av.open did not follow the playlist"


def test_random_bytes_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    with pytest.raises(UnsupportedMedia, match="not an allowed audio container"):
        probe_media(path)


def test_zero_length_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    with pytest.raises(UnsupportedMedia, match="empty"):
        probe_media(path)


def test_video_without_audio_track_is_rejected(tmp_path: Path) -> None:
    path = video_without_audio(tmp_path / "silent-film.mp4")
    with pytest.raises(UnsupportedMedia, match="no audio stream"):
        probe_media(path)
    with pytest.raises(AudioDecodeError, match="no audio stream"):
        decode_to_mono16k(path)


def test_allowed_magic_with_broken_body_is_rejected_at_probe(tmp_path: Path) -> None:
    path = tmp_path / "fake.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVE" + b"\x00" * 40)
    with pytest.raises(UnsupportedMedia, match="not a readable wav file"):
        probe_media(path)


def test_errors_do_not_show_server_paths(tmp_path: Path) -> None:
    path = tmp_path / "fake.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVE" + b"\x00" * 40)
    with pytest.raises(UnsupportedMedia) as err:
        probe_media(path)
    assert str(tmp_path) not in err.value.message


# --- truncation and length --------------------------------------------------------------------------
def test_truncated_m4a_without_index_is_a_decode_error(tmp_path: Path, speech_wav: Path) -> None:
    full = encode(speech_wav, tmp_path, "m4a")  # ffmpeg writes the moov index at the end
    cut = tmp_path / "cut.m4a"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioDecodeError) as err:
        decode_to_mono16k(cut)
    assert err.value.code == "AUDIO_DECODE_ERROR"


def test_wav_with_header_only_is_a_decode_error(tmp_path: Path, speech_wav: Path) -> None:
    cut = tmp_path / "header-only.wav"
    cut.write_bytes(speech_wav.read_bytes()[:44])
    with pytest.raises(AudioDecodeError):
        decode_to_mono16k(cut)
    with pytest.raises(AudioDecodeError):
        list(iter_mono16k_windows(cut, 1.0))


def test_truncated_mp3_keeps_the_audio_before_the_cut(
    tmp_path: Path, speech_wav: Path, speech_seconds: float
) -> None:
    full = encode(speech_wav, tmp_path, "mp3")
    cut = tmp_path / "cut.mp3"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    audio = decode_to_mono16k(cut)
    assert audio.size / SAMPLE_RATE == pytest.approx(speech_seconds / 2, abs=0.5)


def test_audio_too_short(tmp_path: Path) -> None:
    short = write_wav(tmp_path / "short.wav", np.full(int(0.6 * SAMPLE_RATE), 0.1, dtype=np.float32))
    audio = decode_to_mono16k(short)
    with pytest.raises(AudioTooShort) as err:
        ensure_min_duration(audio)
    assert err.value.code == "AUDIO_TOO_SHORT" and err.value.details["duration_seconds"] == pytest.approx(0.6)
    enough = np.zeros(int(AUDIO_MIN_SECONDS * SAMPLE_RATE), dtype=np.float32)
    assert ensure_min_duration(enough) == pytest.approx(AUDIO_MIN_SECONDS)


# --- sniffing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "wav"),
        (b"RIFF\x24\x00\x00\x00AVI LIST", None),
        (b"fLaC\x00\x00\x00\x22", "flac"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00", "mp3"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00fLaC", "flac"),
        (b"\xff\xfb\x90\x64\x00", "mp3"),
        (b"\xff\xf1\x50\x80\x02", "aac"),
        (b"OggS\x00\x02", "ogg"),
        (b"\x00\x00\x00\x20ftypM4A \x00", "mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "webm"),
        (b"#EXTM3U\n", None),
        (b"ffconcat version 1.0\n", None),
        (b"\x89PNG\r\n\x1a\n", None),
        (b"\xff\xd8\xff\xe0", None),
        (b"", None),
    ],
)
def test_sniff_container(head: bytes, expected: str | None) -> None:
    assert sniff_container(head) == expected
