"""Public API of the local toolkit: install, start, check and stop Kafka, PostgreSQL, MinIO.

Used by `roleplay infra …`, by `roleplay up` and by the test fixtures. Safe to call from
several processes at once: a file lock serialises them, and servers already answering (from
an earlier `up`) are reused.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from roleplay_local import kafka, minio, postgres
from roleplay_local.paths import data_dir


class Server(Protocol):
    """What each server module (`kafka`, `postgres`, `minio`) provides."""

    def port(self) -> int: ...
    def installed(self) -> bool: ...
    def install(self) -> None: ...
    def start(self) -> None: ...
    def ready(self) -> bool: ...
    def wait_ready(self, timeout: float = ...) -> None: ...
    def pid(self) -> int | None: ...
    def log_file(self) -> Path: ...
    def stop(self) -> bool: ...


# Kafka first: its JVM boots while PostgreSQL and MinIO start.
SERVERS: dict[str, Server] = {"kafka": kafka, "postgres": postgres, "minio": minio}


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap_servers: str
    database_url: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_secure: bool = False

    def as_env(self) -> dict[str, str]:
        return {
            "ROLEPLAY_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "ROLEPLAY_DATABASE_URL": self.database_url,
            "ROLEPLAY_S3_ENDPOINT": self.s3_endpoint,
            "ROLEPLAY_S3_ACCESS_KEY": self.s3_access_key,
            "ROLEPLAY_S3_SECRET_KEY": self.s3_secret_key,
            "ROLEPLAY_S3_SECURE": "true" if self.s3_secure else "false",
        }


def given_endpoints() -> Endpoints | None:
    """The endpoints the environment gives (`ROLEPLAY_KAFKA_BOOTSTRAP_SERVERS`,
    `ROLEPLAY_DATABASE_URL`, `ROLEPLAY_S3_*`), or None unless all three servers are given."""
    kafka_servers = os.environ.get("ROLEPLAY_KAFKA_BOOTSTRAP_SERVERS")
    database = os.environ.get("ROLEPLAY_DATABASE_URL")
    s3 = os.environ.get("ROLEPLAY_S3_ENDPOINT")
    if not (kafka_servers and database and s3):
        return None
    return Endpoints(
        kafka_bootstrap_servers=kafka_servers,
        database_url=database,
        s3_endpoint=s3,
        s3_access_key=os.environ.get("ROLEPLAY_S3_ACCESS_KEY", minio.ACCESS_KEY),
        s3_secret_key=os.environ.get("ROLEPLAY_S3_SECRET_KEY") or minio.secret_key(),
        s3_secure=os.environ.get("ROLEPLAY_S3_SECURE", "false").lower() in ("1", "true", "yes"),
    )


def endpoints() -> Endpoints:
    """The toolkit's own servers' endpoints (whether they are running or not)."""
    return Endpoints(
        kafka_bootstrap_servers=f"127.0.0.1:{kafka.port()}",
        database_url=postgres.url(),
        s3_endpoint=f"127.0.0.1:{minio.port()}",
        s3_access_key=minio.ACCESS_KEY,
        s3_secret_key=minio.secret_key(),
    )


@contextmanager
def _locked() -> Iterator[None]:
    with (data_dir() / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_installed() -> None:
    """Fetch and build what is missing (cached; idempotent)."""
    with _locked():
        for name, server in SERVERS.items():
            _install(name, server)


def _install(name: str, server: Server) -> None:
    if server.installed():
        return
    started = time.monotonic()
    server.install()
    print(f"{name} installed in {time.monotonic() - started:.1f}s", flush=True)


def up() -> Endpoints:
    """Install what is missing, start what is not running (servers already answering on their
    ports are reused) and wait until every server answers."""
    with _locked():
        started = time.monotonic()
        starting = [name for name, server in SERVERS.items() if not server.ready()]
        for name in starting:
            _install(name, SERVERS[name])
        for name in starting:
            SERVERS[name].start()
        for name in starting:
            SERVERS[name].wait_ready()
            print(f"{name} ready after {time.monotonic() - started:.1f}s", flush=True)
    return endpoints()


def down() -> list[str]:
    """Stop exactly the servers this toolkit started (by pid); returns their names."""
    with _locked():
        return [name for name, server in reversed(SERVERS.items()) if server.stop()]


def status() -> dict[str, dict[str, object]]:
    """Per server: installed, answering, port, pid (None when not started by this toolkit
    from this data dir), log file."""
    return {
        name: {
            "installed": server.installed(),
            "ready": server.ready(),
            "port": server.port(),
            "pid": server.pid(),
            "log": str(server.log_file()),
        }
        for name, server in SERVERS.items()
    }
