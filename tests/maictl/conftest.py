"""Fixtures of the maictl tests: a stub daemon on a real socket, and a way to run the real CLI."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from maictl_stub import StubDaemon  # noqa: E402

from maictl.cli import cli  # noqa: E402


@pytest.fixture
def stub() -> Iterator[StubDaemon]:
    daemon = StubDaemon()
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


class Maictl:
    """Runs maictl in-process against one daemon address, with stdout and stderr kept apart."""

    def __init__(self, socket_path: str):
        self.socket_path = socket_path

    def __call__(self, *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
        runner = CliRunner(env={"MAIE_SOCKET": self.socket_path, "MAIE_URL": None, "MAIE_API_KEY": None,
                                **(env or {})})
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def maictl(stub: StubDaemon) -> Maictl:
    return Maictl(stub.socket_path)
