"""Where downloads, builds and data live.

* cache (`ROLEPLAY_CACHE_DIR`, default `~/.cache/roleplay`): Kafka's jars, the MinIO binary —
  kept across checkouts so a warm start takes seconds;
* data (`ROLEPLAY_DATA_DIR`, default `<repo>/.local/infra`, ignored by git): the servers'
  data, logs and pid files.
"""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "docker-compose.yml").exists() or (parent / ".git").exists():
            return parent
    return Path.cwd()


def cache_dir() -> Path:
    path = Path(os.environ.get("ROLEPLAY_CACHE_DIR", Path.home() / ".cache" / "roleplay"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    path = Path(os.environ.get("ROLEPLAY_DATA_DIR", repo_root() / ".local" / "infra"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    path = data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path
