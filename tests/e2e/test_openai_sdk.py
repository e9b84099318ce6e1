"""The official `openai` Python SDK, unmodified, against the real daemon: over TCP with a key (as Bearer)
and over the Unix socket; every response format, timestamps, a translation, models.list, streaming, 401,
429; the task behind each answer is an ordinary queued task."""

from __future__ import annotations

import io
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import srt
import webvtt

from tests.audio_fixtures import speak_wav, wer
from tests.e2e.conftest import copy_as
from tests.e2e.daemon_harness import TERMINAL, Daemon, running_daemon
from tests.fake_asr import FAKE_ASR

openai = pytest.importorskip("openai")
pytestmark = pytest.mark.slow

KEY = "k" * 40
CLIP_TEXT = "The quick brown fox jumps over the lazy dog."
SPANISH_TEXT = "Buenos días. Hoy hace muy buen tiempo y vamos juntos al parque."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(models_dir: Path) -> Iterator[tuple[Daemon, int]]:
    port = _free_port()
    with running_daemon(MODELS_DIR=str(models_dir), **FAKE_ASR, LLM_BACKEND="none", API_PORT=str(port),
                        SECRET_API_KEY=KEY) as daemon:
        yield daemon, port


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speak_wav(CLIP_TEXT, tmp_path_factory.mktemp("oa") / "fox.wav")


def tcp_client(port: int, key: str = KEY, **kw: Any) -> Any:
    return openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, **kw)


def socket_client(daemon: Daemon, **kw: Any) -> Any:
    """The SDK's own HTTP client (httpx2) on the socket, as docs/openai.md shows it."""
    import httpx2

    http = openai.DefaultHttpx2Client(transport=httpx2.HTTPTransport(uds=str(daemon.socket)))
    return openai.OpenAI(base_url="http://localhost/v1", api_key="x", http_client=http, **kw)


def legacy_socket_client(daemon: Daemon, **kw: Any) -> Any:
    """A plain httpx client, which the SDK still takes (what older SDK versions need)."""
    http = httpx.Client(transport=httpx.HTTPTransport(uds=str(daemon.socket)))
    return openai.OpenAI(base_url="http://localhost/v1", api_key="x", http_client=http, **kw)


def test_json_and_the_task_behind_it(served: tuple[Daemon, int], clip: Path) -> None:
    daemon, port = served
    with open(clip, "rb") as fh:
        raw = tcp_client(port).audio.transcriptions.with_raw_response.create(model="whisper-1", file=fh)
    task_id = raw.headers["X-Maie-Task-Id"]
    assert wer(CLIP_TEXT, raw.parse().text) <= 0.2
    status = daemon.status(task_id)  # an ordinary task: owned by the key, listed, readable through v1
    assert status["status"] == "COMPLETE" and status["results"]["raw_transcript"] == raw.parse().text
    with daemon.client() as c:
        listed = {t["task_id"] for t in c.get("/v1/tasks").json()["tasks"]}
    assert task_id in listed


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
def test_text_formats(served: tuple[Daemon, int], clip: Path, fmt: str) -> None:
    with open(clip, "rb") as fh:
        out = tcp_client(served[1]).audio.transcriptions.create(model="whisper-1", file=fh, response_format=fmt)
    assert isinstance(out, str)
    if fmt == "srt":
        out = " ".join(s.content for s in srt.parse(out))
    elif fmt == "vtt":
        out = " ".join(c.text for c in webvtt.from_buffer(io.StringIO(out)).captions)
    assert wer(CLIP_TEXT, out) <= 0.2, out


def test_verbose_json_with_word_and_segment_timestamps(served: tuple[Daemon, int], clip: Path) -> None:
    with open(clip, "rb") as fh:
        out = tcp_client(served[1]).audio.transcriptions.create(
            model="whisper", file=fh, response_format="verbose_json", language="en", temperature=0.0,
            timestamp_granularities=["word", "segment"], prompt="quick brown fox")
    assert (out.task, out.language) == ("transcribe", "english") and 2.0 < out.duration < 6.0
    assert wer(CLIP_TEXT, out.text) <= 0.2
    assert out.segments and out.segments[0].id == 0 and out.segments[0].tokens
    assert all(s.end > s.start and -5 < s.avg_logprob <= 0 and 0 <= s.no_speech_prob <= 1 for s in out.segments)
    words = out.words or []
    assert len(words) >= 8 and [w.start for w in words] == sorted(w.start for w in words)
    assert "fox" in {w.word.strip(".,").lower() for w in words}
    assert out.usage is not None and out.usage.seconds >= 2


def test_translation_to_english(served: tuple[Daemon, int], tmp_path: Path) -> None:
    # Whisper base translates espeak's Spanish well (its Vietnamese voice it cannot: an empty translation).
    wav = speak_wav(SPANISH_TEXT, tmp_path / "es.wav", voice="es", words_per_minute=140)
    with open(wav, "rb") as fh, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK marks translations deprecated
        raw = tcp_client(served[1]).audio.translations.with_raw_response.create(
            model="whisper-1", file=fh, response_format="verbose_json", prompt="Good morning.")
    out = raw.parse()
    assert (out.task, out.language) == ("translate", "spanish")
    decoding = served[0].status(raw.headers["X-Maie-Task-Id"])["versions"]["asr_backend"]["decoding"]
    assert (decoding["task"], decoding["initial_prompt"]) == ("translate", "Good morning.")
    assert "good morning" in out.text.lower() and "park" in out.text.lower(), out.text


def test_models_list_and_a_wrong_key(served: tuple[Daemon, int]) -> None:
    ids = {m.id for m in tcp_client(served[1]).models.list()}
    assert {"whisper-1", "whisper"} <= ids
    with pytest.raises(openai.AuthenticationError) as caught:
        tcp_client(served[1], key="wrong" * 8).models.list()
    assert caught.value.status_code == 401
    with pytest.raises(openai.AuthenticationError) as caught, open(__file__, "rb") as fh:
        tcp_client(served[1], key="wrong" * 8).audio.transcriptions.create(model="whisper-1", file=fh)
    assert caught.value.body["type"] == "authentication_error" and caught.value.body["code"] == "UNAUTHORIZED"


def test_bad_request_in_openais_error_shape(served: tuple[Daemon, int], clip: Path) -> None:
    with pytest.raises(openai.BadRequestError) as caught, open(clip, "rb") as fh:
        tcp_client(served[1]).audio.transcriptions.create(model="whisper-1", file=fh, response_format="yaml")  # type: ignore[arg-type]
    assert caught.value.body == {"message": caught.value.body["message"], "type": "invalid_request_error",
                                 "param": "response_format", "code": "INVALID_REQUEST"}


def test_over_the_socket_streaming(served: tuple[Daemon, int], clip: Path) -> None:
    daemon, _ = served
    client = socket_client(daemon)
    assert "whisper-1" in {m.id for m in client.models.list()}
    with open(clip, "rb") as fh:
        events = list(client.audio.transcriptions.create(model="whisper-1", file=fh, stream=True))
    types = [e.type for e in events]
    assert types[-1] == "transcript.text.done" and set(types[:-1]) == {"transcript.text.delta"}
    assert "".join(e.delta for e in events[:-1]) == events[-1].text
    assert wer(CLIP_TEXT, events[-1].text) <= 0.2


def test_a_client_that_leaves_loses_nothing(served: tuple[Daemon, int], clip: Path, tmp_path: Path) -> None:
    daemon, _ = served
    slow = copy_as(clip, tmp_path, "fake2-leaves.wav")  # tests/fake_asr.py: a 2 s fake ASR stage
    with daemon.client() as c, open(slow, "rb") as fh, c.stream(
            "POST", "/v1/audio/transcriptions", files={"file": (slow.name, fh)},
            data={"model": "whisper-1", "stream": "true"}) as answer:
        task_id = answer.headers["X-Maie-Task-Id"]  # then the client hangs up before any event
    done = daemon.wait_for(task_id, TERMINAL)
    assert done["status"] == "COMPLETE" and done["results"]["raw_transcript"].startswith("fake transcript")


def test_queue_full_is_a_rate_limit_error_and_a_cancel_ends_the_answer(models_dir: Path, clip: Path,
                                                                       tmp_path: Path) -> None:
    hang = copy_as(clip, tmp_path, "hang-oa.wav")
    with running_daemon(MODELS_DIR=str(models_dir), **FAKE_ASR, LLM_BACKEND="none", MAX_QUEUE_DEPTH="1",
                        SHUTDOWN_GRACE_SECONDS="1") as daemon:
        client = legacy_socket_client(daemon, max_retries=0)
        with open(hang, "rb") as fh:
            events = client.audio.transcriptions.create(model="whisper-1", file=fh, stream=True)
        task_id = events.response.headers["X-Maie-Task-Id"]  # the headers come at once, the events at the end
        daemon.wait_for(task_id, {"PREPROCESSING"})
        assert daemon.submit(clip).status_code == 202  # the one place in the queue
        with pytest.raises(openai.RateLimitError) as caught, open(clip, "rb") as fh:
            client.audio.transcriptions.create(model="whisper-1", file=fh)
        assert int(caught.value.response.headers["Retry-After"]) > 0
        assert caught.value.body["code"] == "QUEUE_FULL"
        with daemon.client() as c:
            assert c.post(f"/v1/tasks/{task_id}/cancel").status_code == 202
        with pytest.raises(openai.APIError) as ended:
            list(events)
        assert ended.value.body["code"] == "TASK_CANCELLED"
