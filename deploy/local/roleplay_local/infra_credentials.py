"""Passwords of the local PostgreSQL and MinIO, made for each data folder on first use.

They live in `<data>/infra-credentials.json` (mode 0600, ignored by git) beside the servers'
data, so every process using that data folder (services, tests, other checkouts sharing it
through `ROLEPLAY_DATA_DIR`) reads the same ones. Servers whose data was created before the
file existed keep the passwords they were created with.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from roleplay_local.paths import data_dir

_CREATED_BEFORE_GENERATION = {
    "postgres_password": "roleplay",
    "minio_secret_key": "roleplay-secret",
}


def _path() -> Path:
    return data_dir() / "infra-credentials.json"


def credential(name: str, *, data_exists: bool) -> str:
    """The stored value of `name`; a new one when the server has no data yet."""
    path = _path()
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if name in stored:
        return stored[name]
    if data_exists:
        return _CREATED_BEFORE_GENERATION[name]
    stored[name] = secrets.token_urlsafe(24)
    path.touch(mode=0o600, exist_ok=True)
    os.chmod(path, 0o600)
    path.write_text(json.dumps(stored, indent=2) + "\n")
    return stored[name]
