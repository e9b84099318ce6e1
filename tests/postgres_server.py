"""A real, private PostgreSQL server for the tests: Debian's `postgresql` package, `initdb` + `pg_ctl` in a
temp folder, listening only on a unix socket in that folder (no TCP port).

PostgreSQL refuses to run as root: when the tests run as root, the server runs as a system user made for
this run (`maie-pg-<random>`), removed again with its folder when the server stops.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

SUPERUSER = "maie"


def pg_bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not versions:
        raise RuntimeError("the PostgreSQL tests need a PostgreSQL server (apt-get install postgresql)")
    return Path(versions[-1]).parent


class PostgresServer:
    def __init__(self) -> None:
        self.bindir = pg_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="maie-pg-", dir=tempfile.gettempdir()))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.user: str | None = None
        self._uid_gid: tuple[int, int] | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> PostgresServer:
        try:
            self.socket_dir.mkdir()
            if os.geteuid() == 0:
                self._make_user()
            self._as_server([str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                             "-E", "UTF8", "--no-sync"])
            options = f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off -c max_connections=200"
            self._as_server([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                             "-l", str(self.root / "server.log"), "-w", "-t", "60", "start"])
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._as_server([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)
        if self.user is not None:
            subprocess.run(["userdel", self.user], capture_output=True)
            self.user = None

    def restart(self) -> None:
        """Stop (fast) and start again on the same folder: what a PostgreSQL restart looks like to maied."""
        self._as_server([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-l",
                         str(self.root / "server.log"), "-w", "-t", "60", "restart"])

    # --- databases ------------------------------------------------------------------------------
    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{dbname}?host={self.socket_dir}"

    def create_database(self, prefix: str = "t") -> str:
        """A fresh empty database; its URL."""
        name = f"{prefix}_{secrets.token_hex(6)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    # --- plumbing -------------------------------------------------------------------------------
    def _make_user(self) -> None:
        name = f"maie-pg-{secrets.token_hex(4)}"
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                       check=True, capture_output=True)
        self.user = name
        entry = pwd.getpwnam(name)
        self._uid_gid = (entry.pw_uid, entry.pw_gid)
        for path in (self.root, self.socket_dir):
            os.chown(path, *self._uid_gid)
        os.chmod(self.root, 0o711)  # the socket folder is reachable by the tests (root)

    def _as_server(self, argv: list[str]) -> None:
        if self._uid_gid is not None:
            uid, gid = self._uid_gid
            argv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *argv]
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        result = subprocess.run(argv, capture_output=True, text=True, cwd=self.root, env=env)
        if result.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise subprocess.CalledProcessError(result.returncode, argv, result.stdout, result.stderr + log[-2000:])
