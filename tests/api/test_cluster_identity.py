"""Ownership across hosts: a socket peer is its uid on one host, host + uid when hosts share the queue."""

from __future__ import annotations

from pathlib import Path

from maied.api.access import socket_owner
from maied.settings import load_settings, mask_url_password


def test_socket_owner_names_the_host_only_in_a_cluster(tmp_path: Path) -> None:
    env = {"MAIE_ENV_FILE": str(tmp_path / "none.env"), "DATA_DIR": str(tmp_path), "WORKER_NAME": "gpu-2"}
    assert socket_owner(1000, load_settings(env)) == "uid:1000"
    shared = load_settings({**env, "DATABASE_URL": "postgresql://maie:pw@db/maie"})
    assert socket_owner(1000, shared) == "uid:1000@gpu-2"


def test_database_password_is_masked() -> None:
    assert mask_url_password("postgresql://maie:s3cret@db:5432/maie") == "postgresql://maie:***@db:5432/maie"
    assert mask_url_password("postgresql://maie@/maie?host=/run/pg") == "postgresql://maie@/maie?host=/run/pg"
