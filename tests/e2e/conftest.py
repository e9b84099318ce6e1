from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audio_fixtures import ENGLISH_TEXT, speak_wav
from tests.e2e.daemon_harness import Daemon, running_daemon
from tests.fake_asr import FAKE_ASR


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """One models folder for the whole run: the embedded model is placed once."""
    return Path(tempfile.mkdtemp(prefix="maie-models-"))


@pytest.fixture(scope="session")
def english_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speak_wav(ENGLISH_TEXT, tmp_path_factory.mktemp("audio") / "english.wav")


@pytest.fixture
def daemon(models_dir: Path) -> Iterator[Daemon]:
    with running_daemon(MODELS_DIR=str(models_dir), **FAKE_ASR, LLM_BACKEND="none",
                        SHUTDOWN_GRACE_SECONDS="0") as d:  # a task left running does not hold up the stop
        yield d


def copy_as(src: Path, dst_dir: Path, name: str) -> Path:
    """The same recording under another name (tests/fake_asr.py acts on file names)."""
    dst = dst_dir / name
    dst.write_bytes(src.read_bytes())
    return dst
