"""Access rules of the real daemon: the socket's permissions (a user outside its group cannot connect),
per-uid ownership with a second uid, the API key on TCP, and path traversal in file names, task ids and
template ids. The tests run as root and create their own users and group."""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.daemon_harness import REPO, TERMINAL, Daemon, running_daemon
from tests.reliability.helpers import read_rows, tone_wav

SYSTEM_PYTHON = "/usr/bin/python3"  # any user may run it (the venv's interpreter may live under /root)
AS_USER = Path(__file__).with_name("as_user.py")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0 or shutil.which("useradd") is None
                                 or not os.access(SYSTEM_PYTHON, os.X_OK),
                                 reason="needs root and useradd to create the test users")]

GROUP = "maie-rel-sock"  # stands in for the `maie` group that systemd's SocketGroup= gives the socket
USERS = {"a": "maie-rel-a", "b": "maie-rel-b", "out": "maie-rel-out"}
ENV = {"MAIE_TEST_HOOKS": "1", "LLM_BACKEND": "none"}


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]


@pytest.fixture(scope="module")
def users() -> Iterator[dict[str, User]]:
    subprocess.run(["groupadd", "-f", GROUP], check=True)
    made = {}
    for key, name in USERS.items():
        extra = ["-G", GROUP] if key != "out" else []
        subprocess.run(["useradd", "-M", "-r", "-s", "/usr/sbin/nologin", *extra, name], check=False,
                       capture_output=True)
        entry = pwd.getpwnam(name)
        made[key] = User(name, entry.pw_uid, entry.pw_gid, tuple(os.getgrouplist(name, entry.pw_gid)))
    try:
        yield made
    finally:
        for name in USERS.values():
            subprocess.run(["userdel", name], check=False, capture_output=True)
        subprocess.run(["groupdel", GROUP], check=False, capture_output=True)


def _share_socket(daemon: Daemon) -> None:
    """What maied.socket does under systemd: the users may reach the socket; its group is GROUP."""
    os.chmod(daemon.state, 0o711)
    os.chown(daemon.socket, -1, grp.getgrnam(GROUP).gr_gid)


def as_user(user: User, daemon: Daemon, method: str, path: str, upload: Path | None = None) -> tuple[str, dict]:
    args = [SYSTEM_PYTHON, str(AS_USER), str(daemon.socket), method, path]
    if upload is not None:
        args.append(upload.name)
    done = subprocess.run(args, cwd=REPO, user=user.uid, group=user.gid, extra_groups=list(user.groups),
                          input=upload.read_bytes() if upload else b"", capture_output=True, timeout=60,
                          env={"PATH": os.environ.get("PATH", ""), "HOME": "/"})
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    status, _, body = done.stdout.decode().strip().partition(" ")
    return status, (json.loads(body) if status != "CONNECT" else {"errno": body})


def test_a_user_outside_the_socket_group_cannot_connect(users: dict[str, User]) -> None:
    with running_daemon(**ENV) as daemon:
        _share_socket(daemon)
        assert as_user(users["out"], daemon, "GET", "/health") == ("CONNECT", {"errno": "EACCES"})
        status, body = as_user(users["a"], daemon, "GET", "/health")
        assert status == "200" and body["db_ok"] is True


def test_tasks_are_visible_only_to_their_owner_and_root(users: dict[str, User], tmp_path: Path) -> None:
    audio = tone_wav(tmp_path / "fake0.01-mine.wav")
    a, b = users["a"], users["b"]
    with running_daemon(**ENV) as daemon:
        _share_socket(daemon)
        status, body = as_user(a, daemon, "POST", "/v1/process", audio)
        assert status == "202", body
        task_id = body["task_id"]
        assert daemon.wait_for(task_id, TERMINAL)["status"] == "COMPLETE"
        for method, path in [("GET", f"/v1/status/{task_id}"), ("POST", f"/v1/tasks/{task_id}/cancel"),
                             ("DELETE", f"/v1/tasks/{task_id}"), ("GET", f"/v1/tasks/{task_id}/transcript.txt"),
                             ("POST", f"/v1/tasks/{task_id}/summarize")]:
            status, body = as_user(b, daemon, method, path)
            assert (status, body["error"]["code"]) == ("404", "TASK_NOT_FOUND"), (method, path, body)
        assert as_user(b, daemon, "GET", "/v1/tasks")[1]["tasks"] == [], "another uid's task is not listed"
        assert as_user(a, daemon, "GET", f"/v1/status/{task_id}")[0] == "200"
        assert [t["task_id"] for t in as_user(a, daemon, "GET", "/v1/tasks")[1]["tasks"]] == [task_id]
        assert daemon.status(task_id)["status"] == "COMPLETE", "root sees every task"
        status, _ = as_user(a, daemon, "DELETE", f"/v1/tasks/{task_id}")
        assert status == "200"
        assert task_id not in read_rows(daemon.data_dir / "maie.db")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_api_key_guards_every_tcp_route_but_health() -> None:
    key, port = "k" * 40, _free_port()
    with running_daemon(**ENV, API_PORT=str(port), SECRET_API_KEY=key) as daemon:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            assert c.get("/health").status_code == 200
            for headers in [{}, {"X-API-Key": ""}, {"X-API-Key": "k" * 39}, {"X-API-Key": "k" * 39 + "K"},
                            {"X-API-Key": key + "k"}, {"Authorization": f"Bearer {key}k"},
                            {"Authorization": f"Basic {key}"}, {"Authorization": key}]:
                for path in ["/v1/tasks", "/metrics", "/openapi.json", "/v1/models", "/v1/status/x"]:
                    r = c.get(path, headers=headers)
                    assert (r.status_code, r.json()["error"]["code"]) == (401, "UNAUTHORIZED"), (headers, path)
            assert c.get("/v1/tasks", params={"api_key": key}).status_code == 401, "no key in the query"
            assert c.get("/v1/tasks", headers={"X-API-Key": key}).status_code == 200
            assert c.get("/v1/tasks", headers={"Authorization": f"Bearer {key}"}).status_code == 200, "OpenAI's SDKs"
        with daemon.client() as c:
            assert c.get("/v1/tasks").status_code == 200, "the socket needs no key by default"


@pytest.mark.parametrize("key", ["", "short-key", "change-me"])
def test_a_tcp_listener_with_a_weak_key_is_refused_at_start(key: str) -> None:
    with pytest.raises(RuntimeError, match="maied exited"), running_daemon(**ENV, API_PORT=str(_free_port()),
                                                                            SECRET_API_KEY=key):
        pass


def test_path_traversal_in_file_names_task_ids_and_template_ids(tmp_path: Path) -> None:
    tone = tone_wav(tmp_path / "tone.wav")
    marker = f"maie-evil-{uuid.uuid4().hex}"
    names = [f"../../../../../../tmp/{marker}.wav", f"..\\..\\..\\tmp\\{marker}.wav", f"/tmp/{marker}.wav",
             f"fake0.01-..%2f..%2f{marker}.wav", "....//....//x.wav", "\x00evil.wav"]
    with running_daemon(**ENV) as daemon, daemon.client() as c:
        for name in names:
            r = c.post("/v1/process", files={"file": (name, tone.read_bytes())})
            assert r.status_code == 202, (name, r.text)
            record = read_rows(daemon.data_dir / "maie.db")[r.json()["task_id"]]
            stored = Path(str(record.audio_path)).resolve()
            assert stored.parent == (daemon.data_dir / "audio" / record.id).resolve(), (name, stored)
            daemon.wait_for(record.id, TERMINAL)
        assert not list(Path("/tmp").glob(f"{marker}*")), "nothing was written outside the task's folder"
        for task_id in ["..", "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "a" * 65, "x;rm", "*"]:
            r = c.get(f"/v1/status/{task_id}")
            assert r.status_code in (400, 404), (task_id, r.status_code)
            r = c.post(f"/v1/tasks/{task_id}/cancel")
            assert r.status_code in (400, 404, 405), (task_id, r.status_code)
        for template_id in ["../../etc/passwd", "..", "/etc", "x/../../y", "%2e%2e"]:
            r = c.post("/v1/process", files={"file": ("fake-t.wav", tone.read_bytes())},
                       data={"features": "summary", "template_id": template_id})
            assert r.status_code in (400, 404, 422), (template_id, r.text)
            assert r.json()["error"]["code"] == "TEMPLATE_NOT_FOUND", (template_id, r.text)
            r = c.get(f"/v1/templates/{template_id}")
            assert r.status_code in (400, 404), (template_id, r.status_code)
