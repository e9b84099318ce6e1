"""Hostile templates against the real daemon while /health is read every 0.25 s: references to files and
URLs are never fetched (on save or on listing), unresolvable and looping references, memory and CPU
burners, catastrophic patterns, include/import/extends, recursion and giant integers are each a 4xx within
seconds; the daemon stays responsive, a real task completes afterwards and SIGTERM still stops it."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.daemon_harness import Daemon, running_daemon
from tests.reliability.hostile import HealthMonitor, later_task_completes

pytestmark = pytest.mark.slow

ENV = {"MAIE_TEST_HOOKS": "1", "LLM_BACKEND": "none"}
ANSWER_SECONDS = 15.0
LIMIT = "memory|CPU|longer than"
"""Which limit a burner meets first depends on how busy the machine is: any of them is a bounded 400."""
SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False, "required": ["gist"],
                          "properties": {"gist": {"type": "string", "maxLength": 80}}}
PROMPT = "Summarize:\n{{ transcript }}"


def _template(tid: str, *, schema: dict[str, Any] | None = None, prompt: str = PROMPT,
              example: Any = None) -> dict[str, Any]:
    return {"id": tid, "schema": schema or SCHEMA, "prompt": prompt, "example": example or {"gist": "a meeting"}}


def _with_gist(sub: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**SCHEMA, "properties": {"gist": sub}, **extra}


class _CountingServer:
    """A local HTTP server that counts what it is asked (nothing may ask)."""

    def __init__(self) -> None:
        hits: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(json.dumps({"type": "string", "maxLength": 5}).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.hits = hits
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/schema.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def counting_server() -> Iterator[_CountingServer]:
    server = _CountingServer()
    yield server
    server.close()


def _cases(url: str, secret: Path) -> dict[str, tuple[dict[str, Any], str]]:
    """name -> (template, a piece of the 4xx message)."""
    loop_defs = {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}}
    return {
        "ref-file": (_template("ref-file", schema=_with_gist({"$ref": f"file://{secret}"})), "outside"),
        "ref-http": (_template("ref-http", schema=_with_gist({"$ref": url})), "outside"),
        "ref-relative": (_template("ref-relative", schema=_with_gist({"$ref": "other.json#/x"})), "outside"),
        "ref-id-base": (_template("ref-id-base", schema=_with_gist({"$ref": "#/$defs/s"}, **{
            "$id": url, "$defs": {"s": {"type": "string", "maxLength": 5}}})), "$id"),
        "ref-missing": (_template("ref-missing", schema=_with_gist({"$ref": "#/$defs/nope"})), "does not resolve"),
        "ref-loop": (_template("ref-loop", schema=_with_gist({"$ref": "#/$defs/a"}, **loop_defs)), "loops"),
        "ref-self": (_template("ref-self", schema=_with_gist({"$ref": "#/properties/gist"})), "loops"),
        "double-string": (_template("double-string", prompt="{% set ns = namespace(s='x') %}{% for i in range(64) %}"
                                    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ transcript }}"), LIMIT),
        "list-extend": (_template("list-extend", prompt="{% set l = [1, 2] %}{% for i in range(64) %}"
                                  "{% if l.extend(l) %}{% endif %}{% endfor %}{{ transcript }}"), LIMIT),
        "silent-loops": (_template("silent-loops", prompt="{% for i in range(100000) %}{% for j in range(100000) %}"
                                   "{% endfor %}{% endfor %}{{ transcript }}"), LIMIT),
        "backtracking": (_template("backtracking", schema=_with_gist({"type": "string", "maxLength": 80,
                                                                     "pattern": "^(a|aa)+$"}),
                                   example={"gist": "a" * 40 + "!"}), "longer than"),
        "include": (_template("include", prompt="{% include '/etc/passwd' %}{{ transcript }}"), "include"),
        "import": (_template("import", prompt="{% import 'x' as y %}{{ transcript }}"), "import"),
        "extends": (_template("extends", prompt="{% extends 'base' %}{{ transcript }}"), "extends"),
        "recursion": (_template("recursion", prompt="{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}"
                                "{{ transcript }}"), "recurses|" + LIMIT),
        "giant-int": (_template("giant-int", prompt="{{ transcript }}{{ " + "9" * 5000 + " }}"), "digits"),
        "deep-json": (_template("deep-json", schema=_with_gist({"type": "string", "maxLength": 8},
                                                               **{"x-note": _deep(200)})), "nested"),
    }


def _deep(levels: int) -> Any:
    node: Any = "x"
    for _ in range(levels):
        node = {"d": node}
    return node


def _says(message: str, expected: str) -> bool:
    return any(part in message for part in expected.split("|"))


def _post(daemon: Daemon, body: dict[str, Any]) -> tuple[int, str, float]:
    started = time.monotonic()
    with daemon.client(timeout=60) as c:
        r = c.post("/v1/templates", content=json.dumps(body), headers={"Content-Type": "application/json"})
    return r.status_code, r.text, time.monotonic() - started


def test_hostile_templates_are_refused_quickly_and_never_reach_outside(
        tmp_path: Path, counting_server: _CountingServer) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text('{"type": "string", "maxLength": 5, "description": "TOP-SECRET-CONTENT"}')
    cases = _cases(counting_server.url, secret)
    with running_daemon(**ENV) as daemon, HealthMonitor(daemon) as monitor:
        with ThreadPoolExecutor(max_workers=len(cases)) as pool:  # all at once: none may starve the others
            answers = dict(zip(cases, pool.map(lambda c: _post(daemon, c[0]), cases.values()), strict=True))
        _hand_placed_reference(daemon, counting_server.url)
        later_task_completes(daemon, tmp_path)
    for name, (status, text, seconds) in answers.items():
        print(f"{name}: {status} in {seconds:.1f} s: {json.loads(text)['error']['message'][:110]}")
    wrong = {n: (s, t[:300]) for n, (s, t, _) in answers.items()
             if not (400 <= s < 500 and _says(json.loads(t)["error"]["message"], cases[n][1]))}
    assert not wrong, wrong
    assert max(seconds for _, _, seconds in answers.values()) < ANSWER_SECONDS
    assert "TOP-SECRET" not in "".join(t for _, t, _ in answers.values())
    assert counting_server.hits == [], "the daemon fetched a URL named in a schema"
    assert daemon.proc is not None and daemon.proc.returncode is not None
    assert daemon.proc.returncode == 0, "SIGTERM stopped the daemon cleanly after the attack"
    monitor.assert_responsive()


def _hand_placed_reference(daemon: Daemon, url: str) -> None:
    """A template placed by hand with an outside reference: listing it never fetches it; it is invalid."""
    folder = daemon.data_dir / "templates" / "by-hand"
    folder.mkdir(parents=True)
    (folder / "schema.json").write_text(json.dumps(_with_gist({"$ref": url})))
    (folder / "prompt.jinja").write_text(PROMPT)
    (folder / "example.json").write_text(json.dumps({"gist": "x"}))
    with daemon.client() as c:
        for _ in range(3):
            listing = c.get("/v1/templates").json()
            assert "by-hand" in {i["id"] for i in listing["invalid"]}, listing
        assert c.get("/v1/templates/by-hand").status_code == 404
