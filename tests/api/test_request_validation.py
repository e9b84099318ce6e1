"""Every refusal of a submit the API promises (413, 415, 422), against the API served in-process on a real
socket: one server for the module, no daemon start per case."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.inprocess import InProcessApi, inprocess_api
from tests.audio_fixtures import ENGLISH_TEXT, speak_wav


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


@pytest.fixture(scope="module")
def api() -> Iterator[InProcessApi]:
    with inprocess_api(LLM_BACKEND="none") as served:
        yield served


@pytest.fixture(scope="module")
def english_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speak_wav(ENGLISH_TEXT[:60], tmp_path_factory.mktemp("audio") / "english.wav")


def test_413_is_answered_before_the_body_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.wav"
    big.write_bytes(b"RIFF" + os.urandom(300_000))
    with inprocess_api(MAX_FILE_SIZE_MB="0.1") as small:
        r = small.submit(big)
        assert r.status_code == 413 and _code(r) == "FILE_TOO_LARGE"
        assert list(small.settings.audio_dir.glob("*")) == [], "nothing of a refused upload is kept"


@pytest.mark.parametrize("content", [os.urandom(50_000), b"#EXTM3U\n#EXTINF:1,\n/etc/passwd\n", b"hello\n" * 999])
def test_415_for_what_is_not_audio(api: InProcessApi, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fake.wav"
    path.write_bytes(content)
    r = api.submit(path)
    assert r.status_code == 415 and _code(r) == "UNSUPPORTED_MEDIA", r.text
    assert not any(api.settings.audio_dir.glob("*/original-*")), "nothing of a refused upload is kept"


@pytest.mark.parametrize("fields, code", [
    ({"features": "summary"}, "TEMPLATE_REQUIRED"),
    ({"features": "summary", "template_id": "no-such-template"}, "TEMPLATE_NOT_FOUND"),
    ({"features": "clean_transcript"}, "LLM_UNAVAILABLE"),
    ({"num_speakers": "2"}, "INVALID_REQUEST"),
    ({"enable_diarization": "true", "num_speakers": "0"}, "INVALID_REQUEST"),
    ({"enable_diarization": "true", "min_speakers": "3", "max_speakers": "2"}, "INVALID_REQUEST"),
    ({"enable_diarization": "true", "num_speakers": "two"}, "INVALID_REQUEST"),
    ({"features": "poetry"}, "INVALID_REQUEST"),
    ({"language": "../../etc"}, "INVALID_REQUEST"),
    ({"language": "xx"}, "INVALID_REQUEST"),
    ({"asr_backend": "kaldi"}, "INVALID_REQUEST"),
    ({"asr_backend": "chunkformer", "language": "en"}, "INVALID_REQUEST"),
])
def test_422_for_what_cannot_be_done(api: InProcessApi, english_wav: Path, fields: dict[str, str], code: str) -> None:
    r = api.submit(english_wav, **fields)
    assert r.status_code == 422 and _code(r) == code, r.text
    assert r.json()["error"]["message"]
    assert not any(api.settings.audio_dir.glob("*/original-*")), "nothing of a refused upload is kept"


def test_a_valid_submit_is_queued(api: InProcessApi, english_wav: Path) -> None:
    r = api.submit(english_wav, language="en")
    assert r.status_code == 202, r.text
    assert api.store.require(r.json()["task_id"]).request.language == "en"
