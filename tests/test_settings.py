"""Settings: the documented defaults, env file then environment, one clear line for a bad value."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from maied.errors import ConfigError
from maied.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]


def test_interface_defaults() -> None:
    s = load_settings({"MAIE_ENV_FILE": "/nonexistent"})
    assert str(s.API_SOCKET) == "/run/maie/maied.sock" and s.API_PORT is None
    assert (s.MAX_FILE_SIZE_MB, s.MAX_QUEUE_DEPTH, s.JOB_TIMEOUT, s.JOB_TIMEOUT_RTF) == (500, 50, 600, 2.0)
    assert (s.MAX_ATTEMPTS, s.MAX_REQUEUES, s.RESULT_TTL, s.DISK_THRESHOLD) == (2, 5, 86400, 80)
    assert (s.ASR_BACKEND, s.LLM_BACKEND, s.WHISPER_MODEL_VARIANT) == ("whisper", "auto", "")
    assert s.db_path == s.DATA_DIR / "maie.db" and s.audio_dir == s.DATA_DIR / "audio"


def test_env_file_then_environment(tmp_path: Path) -> None:
    env_file = tmp_path / "maie.env"
    env_file.write_text("MAX_QUEUE_DEPTH=7\nJOB_TIMEOUT=30\n# comment\n")
    s = load_settings({"MAIE_ENV_FILE": str(env_file), "JOB_TIMEOUT": "45"})
    assert s.MAX_QUEUE_DEPTH == 7 and s.JOB_TIMEOUT == 45


@pytest.mark.parametrize("env, name", [
    ({"MAX_QUEUE_DEPTH": "0"}, "MAX_QUEUE_DEPTH"),
    ({"JOB_TIMEOUT": "soon"}, "JOB_TIMEOUT"),
    ({"ASR_BACKEND": "kaldi"}, "ASR_BACKEND"),
    ({"API_PORT": "8000", "SECRET_API_KEY": "your_secret_api_key_here"}, "SECRET_API_KEY"),
])
def test_bad_value_is_one_line_naming_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"MAIE_ENV_FILE": "/nonexistent", **env})
    assert name in err.value.message and "\n" not in err.value.message


def test_deprecated_redis_settings_are_accepted() -> None:
    s = load_settings({"MAIE_ENV_FILE": "/nonexistent", "REDIS_URL": "redis://x:6379/0", "WORKER_CONCURRENCY": "2"})
    assert s.WORKER_CONCURRENCY == 2


def test_etc_maie_env_documents_every_setting() -> None:
    text = (REPO / "etc" / "maie.env").read_text()
    documented = set(re.findall(r"^#([A-Z_]+)=", text, re.M))
    assert set(Settings.model_fields) <= documented
    assert "#ASR_BACKEND=chunkformer" in text and "Qwen3-4B-Instruct-2507" in text
    assert all(f.description for f in Settings.model_fields.values())


def test_maied_config_masks_secrets_and_fails_with_one_line(tmp_path: Path) -> None:
    env = {"MAIE_ENV_FILE": "/nonexistent", "SECRET_API_KEY": "s" * 40, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "maied.cli", "config"], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and "s" * 40 not in out.stdout and "SECRET_API_KEY=***" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "maied.cli", "config"], env={**env, "MAX_QUEUE_DEPTH": "-1"},
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "MAX_QUEUE_DEPTH" in bad.stderr


def test_maie_socket_is_understood_and_api_socket_wins() -> None:
    base = {"MAIE_ENV_FILE": "/nonexistent"}
    assert str(load_settings({**base, "MAIE_SOCKET": "/tmp/a.sock"}).API_SOCKET) == "/tmp/a.sock"
    both = load_settings({**base, "MAIE_SOCKET": "/tmp/a.sock", "API_SOCKET": "/tmp/b.sock"})
    assert str(both.API_SOCKET) == "/tmp/b.sock"


def test_maied_config_output_is_a_valid_env_file(tmp_path: Path) -> None:
    from dotenv import dotenv_values

    env = {"MAIE_ENV_FILE": "/nonexistent", "PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path / "a b#c")}
    out = subprocess.run([sys.executable, "-m", "maied.cli", "config"], env=env, capture_output=True, text=True)
    assert out.returncode == 0
    assert all(line.startswith("#") or re.match(r"^[A-Z_0-9]+=", line) for line in out.stdout.splitlines())
    written = tmp_path / "printed.env"
    written.write_text(out.stdout)
    values = dotenv_values(written)
    assert set(values) == set(Settings.model_fields) and values["DATA_DIR"] == str(tmp_path / "a b#c")
    again = load_settings({"MAIE_ENV_FILE": str(written)})
    assert tmp_path / "a b#c" == again.DATA_DIR and again.MAX_QUEUE_DEPTH == 50


def test_maied_usage_errors_are_one_line() -> None:
    env = {"MAIE_ENV_FILE": "/nonexistent", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "maied.cli", "transcribe", "nothere.wav"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert out.stderr.startswith("maied: error: ") and "nothere.wav" in out.stderr and "Usage" not in out.stderr
