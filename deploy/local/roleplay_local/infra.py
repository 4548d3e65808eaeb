"""Public API of the local toolkit: install, start, check and stop Kafka, PostgreSQL, MinIO.

Used by `roleplay infra …`, by `roleplay up` and by the test fixtures. Safe to call from
several processes at once: a file lock serialises them, and servers already answering (from
an earlier `up`) are reused.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

from roleplay_local import kafka, minio, postgres
from roleplay_local.paths import data_dir

SERVERS: dict[str, ModuleType] = {"postgres": postgres, "kafka": kafka, "minio": minio}


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


def endpoints() -> Endpoints:
    return Endpoints(
        kafka_bootstrap_servers=f"127.0.0.1:{kafka.port()}",
        database_url=postgres.url(),
        s3_endpoint=f"127.0.0.1:{minio.port()}",
        s3_access_key=minio.ACCESS_KEY,
        s3_secret_key=minio.SECRET_KEY,
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
        for server in SERVERS.values():
            server.install()


def up() -> Endpoints:
    """Start what is not running and wait until every server answers."""
    with _locked():
        for name, server in SERVERS.items():
            if server.ready():
                continue
            started = time.monotonic()
            server.start()
            server.wait_ready()
            print(f"{name} ready in {time.monotonic() - started:.1f}s", flush=True)
    return endpoints()


def down() -> list[str]:
    """Stop exactly the servers this toolkit started (by pid); returns their names."""
    with _locked():
        return [name for name, server in reversed(SERVERS.items()) if server.stop()]


def status() -> dict[str, dict[str, object]]:
    return {
        name: {"installed": server.installed(), "ready": server.ready(), "port": server.port()}
        for name, server in SERVERS.items()
    }
