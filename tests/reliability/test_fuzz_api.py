"""Schemathesis against the real daemon's /openapi.json, every route, over the TCP listener on loopback
(with the API key): no 5xx, every answer conforms to the documented status codes, content types and
schemas, and the daemon is alive afterwards. Hypothesis drives the cases; MAIE_LONG_TESTS=1 runs more."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.e2e.daemon_harness import Daemon, running_daemon
from tests.reliability.helpers import LONG

pytestmark = pytest.mark.slow

API_KEY = "fuzz-" + "k" * 40
EXAMPLES = 500 if LONG else 100
CASES: list[str] = []
# A schema-valid `file` (any bytes) that is not audio is rightly refused with 415: the OpenAPI document
# cannot say "must be audio", so schemathesis' "valid data must be accepted" check does not apply.
EXCLUDED: list[Any] = [positive_data_acceptance]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def fuzzed_daemon() -> Iterator[tuple[Daemon, str]]:
    port = _free_port()
    with running_daemon(LLM_BACKEND="none", API_HOST="127.0.0.1", API_PORT=str(port), SECRET_API_KEY=API_KEY,
                        MAX_FILE_SIZE_MB="1") as daemon:
        yield daemon, f"http://127.0.0.1:{port}"
        with daemon.client() as c:
            health = c.get("/health")
        assert health.status_code == 200 and health.json()["db_ok"] is True, "the daemon survived the fuzzing"
        assert daemon.proc is not None and daemon.proc.poll() is None
        print(f"\nfuzz: {len(CASES)} schemathesis cases over {len({c for c in CASES})} "
              "operations, no 5xx, no schema violation")


def _operations(daemon: Daemon) -> list[Any]:
    with daemon.client() as c:
        spec = c.get("/openapi.json").json()
    operations = [result.ok() for result in schemathesis.openapi.from_dict(spec).get_all_operations()]  # type: ignore[union-attr]
    if importlib.util.find_spec("maied.api.routes_templates") is None:  # template routes not built yet
        operations = [op for op in operations if not op.path.startswith("/v1/templates")]
    return operations


def test_api_conforms_to_its_openapi(fuzzed_daemon: tuple[Daemon, str]) -> None:
    """Each operation in turn (schemathesis' pytest loader does not run under pytest 9: driven by hand)."""
    daemon, base_url = fuzzed_daemon
    operations = _operations(daemon)
    assert len(operations) == 20, "every route is described (tests/api/test_openapi_coverage.py)"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: schemathesis.Case) -> None:
            CASES.append(f"{case.method} {case.path}")
            case.call_and_validate(base_url=base_url, headers={"X-API-Key": API_KEY}, timeout=70,
                                   excluded_checks=EXCLUDED)

        fuzz()


def test_hostile_variants_conform_too(fuzzed_daemon: tuple[Daemon, str]) -> None:
    """The same cases sent with a compressed-body header (bodies are refused 415, never inflated), and the
    task list with cursors far past any row: still no 5xx and only documented answers."""
    daemon, base_url = fuzzed_daemon
    for operation in _operations(daemon):
        @given(case=operation.as_strategy())
        @settings(max_examples=max(10, EXAMPLES // 10), deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        def fuzz(case: schemathesis.Case) -> None:
            CASES.append(f"{case.method} {case.path} (gzip)")
            if case.path == "/v1/tasks":
                case.query = {**(case.query or {}), "cursor": "9" * 30}
            response = case.call_and_validate(base_url=base_url, excluded_checks=EXCLUDED, timeout=70,
                                              headers={"X-API-Key": API_KEY, "Content-Encoding": "gzip"})
            if case.path == "/v1/tasks":
                assert response.status_code == 400, response.text
            elif case.method.upper() in ("POST", "PUT") and case.body is not None and response.status_code not in (401, 403, 404):
                assert response.status_code == 415, (case.method, case.path, response.status_code, response.text)

        fuzz()
