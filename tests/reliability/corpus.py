"""Malformed media made on the spot: each case is (file name, bytes, the outcomes that are correct).

An outcome is an HTTP status refused at upload ("415") or a task's final "FAILED:<error_code>"; a case
that is valid audio under a misleading name may also be "COMPLETE". Names start with `fake0.01-` so that
a file that does decode goes through the fast fake ASR stage (the decoding is the real one).
"""

from __future__ import annotations

import os
import random
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.audio_fixtures import require_tools
from tests.reliability.helpers import tone_wav

REFUSED = frozenset({"415"})
UNDECODABLE = frozenset({"415", "FAILED:AUDIO_DECODE_ERROR", "FAILED:AUDIO_TOO_SHORT"})
COMPLETES = frozenset({"COMPLETE"})


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    allowed: frozenset[str]


def _ffmpeg(args: list[str], out: Path) -> bytes:
    require_tools("ffmpeg")
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(out)], check=True, capture_output=True)
    return out.read_bytes()


def _id3(size: int) -> bytes:
    """An ID3v2 header announcing `size` bytes of tag (syncsafe integer)."""
    safe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x04\x00\x00" + safe


def build_corpus(work: Path, local_target: Path) -> list[Case]:
    """`local_target` is a local file (a FIFO) that playlists point at: it must never be opened."""
    rng = random.Random(11)
    noise = rng.randbytes(64 * 1024)
    wav = tone_wav(work / "tone.wav", 2.0).read_bytes()
    mp3 = _ffmpeg(["-i", str(work / "tone.wav"), "-c:a", "libmp3lame", "-b:a", "32k"], work / "t.mp3")
    flac = _ffmpeg(["-i", str(work / "tone.wav"), "-c:a", "flac"], work / "t.flac")
    opus = _ffmpeg(["-i", str(work / "tone.wav"), "-c:a", "libopus"], work / "t.ogg")
    m4a = _ffmpeg(["-i", str(work / "tone.wav"), "-c:a", "aac"], work / "t.m4a")
    video = _ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", "-t", "2", "-an", "-c:v", "mpeg4"],
                    work / "v.mp4")
    webm_video = _ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", "-t", "2", "-an",
                          "-c:v", "libvpx"], work / "v.webm")
    target = str(local_target)
    hls = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://{target}\n{target}\n#EXT-X-ENDLIST\n"
    concat = f"ffconcat version 1.0\nfile '{target}'\nfile 'file:{target}'\n"
    return [
        Case("empty.wav", b"", REFUSED),
        Case("text-as.wav", b"hello, this is not audio at all\n" * 100, REFUSED),
        Case("noise.mp3", bytes(b | 0 for b in noise[:4096]).replace(b"\xff", b"\x00"), REFUSED),
        Case("playlist.m3u8", hls.encode(), REFUSED),
        Case("playlist-as.wav", hls.encode(), REFUSED),
        Case("concat.ffconcat", concat.encode(), REFUSED),
        Case("id3-then-playlist.mp3", _id3(0) + hls.encode() * 20, UNDECODABLE),
        Case("video-no-audio.mp4", video, REFUSED),
        Case("video-no-audio.webm", webm_video, REFUSED),
        Case("wav-header-only.wav", wav[:44], UNDECODABLE),
        Case("wav-truncated.wav", wav[:2000], UNDECODABLE),
        Case("mp3-truncated.mp3", mp3[:300], UNDECODABLE),
        Case("flac-truncated.flac", flac[:200], UNDECODABLE),
        Case("ogg-truncated.ogg", opus[:200], UNDECODABLE),
        Case("m4a-truncated.m4a", m4a[: len(m4a) // 8], UNDECODABLE),
        Case("riff-noise.wav", b"RIFF" + struct.pack("<I", 36 + len(noise)) + b"WAVE" + noise, UNDECODABLE),
        Case("ogg-noise.ogg", b"OggS" + noise, UNDECODABLE),
        Case("flac-noise.flac", b"fLaC" + noise, UNDECODABLE),
        Case("ftyp-noise.m4a", b"\x00\x00\x00\x18ftypM4A " + noise, UNDECODABLE),
        Case("ebml-noise.webm", b"\x1a\x45\xdf\xa3webm" + noise, UNDECODABLE),
        Case("id3-noise.mp3", _id3(100) + noise, REFUSED),
        # random bytes behind a header that looks right: the probe decodes the first frames (415)
        Case("mpeg-sync-noise.mp3", b"\xff\xfb\x90\x64" + noise, REFUSED),
        Case("id3-mpeg-sync-noise.mp3", _id3(0) + b"\xff\xfb\x90\x64" + noise, REFUSED),
        Case("adts-noise.aac", b"\xff\xf1\x50\x80\x02\x1f\xfc" + noise, REFUSED),
        Case("id3-adts-noise.aac", _id3(0) + b"\xff\xf1\x50\x80\x02\x1f\xfc" + noise, REFUSED),
        Case("id3-huge.mp3", _id3(0x0FFFFFFF) + noise, UNDECODABLE),
        Case("wav-huge-fmt.wav", b"RIFF\xff\xff\xff\xffWAVEfmt \xf0\xff\xff\x7f" + noise, UNDECODABLE),
        Case("mp4-huge-box.m4a", b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00isomiso2"
             + b"\x7f\xff\xff\xffmoov" + noise, UNDECODABLE),
        Case("wav-data-len-huge.wav", wav[:40] + b"\xff\xff\xff\x7f" + wav[44:], UNDECODABLE | COMPLETES),
        Case("wav-named.mp3", wav, COMPLETES),
        Case("flac-named.ogg", flac, COMPLETES),
        Case("noname", mp3, COMPLETES),
    ]


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path
