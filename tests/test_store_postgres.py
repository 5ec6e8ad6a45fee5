"""The store's core behaviours on a throwaway PostgreSQL 15 cluster started for this run."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from monitor.store import Store
from test_store import StoreBehaviour

PG_BIN = Path(os.environ.get("MONITOR_PG_BIN", "/usr/lib/postgresql/15/bin"))


@dataclass(frozen=True)
class Cluster:
    port: int

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        )


def _as_owner() -> tuple[list[str], int | None, int | None]:
    """initdb refuses to run as root, so as root the cluster runs as the postgres user."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no postgres user to own the cluster")
    return ["runuser", "-u", "postgres", "--"], owner.pw_uid, owner.pw_gid


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """initdb + pg_ctl start in a temporary folder; stopped and removed at the end."""
    if not (PG_BIN / "initdb").is_file() or not (PG_BIN / "pg_ctl").is_file():
        pytest.skip(f"PostgreSQL binaries not found in {PG_BIN} (set MONITOR_PG_BIN)")
    prefix, uid, gid = _as_owner()
    # Not under pytest's tmp_path: its parent folders are private to root.
    folder = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
    if uid is not None and gid is not None:
        os.chown(folder, uid, gid)
    data, port = folder / "data", _free_port()
    pg_ctl = [*prefix, str(PG_BIN / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run(
            [*prefix, str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "--encoding=UTF8", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        options = f"-h 127.0.0.1 -p {port} -k {folder} -F"
        subprocess.run(
            [*pg_ctl, "-l", str(folder / "server.log"), "-o", options, "-w", "start"],
            check=True, capture_output=True,
        )  # fmt: skip
        yield Cluster(port)
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """A fresh database per test, dropped afterwards."""
    name = f"monitor_{uuid.uuid4().hex[:12]}"
    with postgres_cluster.admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_cluster.url(name)
    with postgres_cluster.admin() as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


class TestPostgresStore(StoreBehaviour):
    @pytest.fixture
    def store_url(self, postgres_url: str) -> str:
        return postgres_url


def test_plain_postgresql_url_uses_psycopg(postgres_url: str) -> None:
    store = Store(postgres_url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        store.upgrade()
        assert store.schema_revision() == "0001"
    finally:
        store.close()


def test_datetimes_are_stored_as_timestamptz(postgres_url: str) -> None:
    store = Store(postgres_url)
    store.upgrade()
    store.close()
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://")) as db:
        (kind,) = db.execute(
            "SELECT data_type FROM information_schema.columns"
            " WHERE table_name = 'findings' AND column_name = 'found_at'"
        ).fetchone() or ("missing",)
    assert kind == "timestamp with time zone"
