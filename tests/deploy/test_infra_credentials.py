"""The local PostgreSQL and MinIO get passwords of their own, kept beside their data."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from roleplay_local import infra_credentials


def test_a_new_server_gets_a_generated_password_kept_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLEPLAY_DATA_DIR", str(tmp_path))
    first = infra_credentials.credential("postgres_password", data_exists=False)
    assert len(first) >= 24 and first != "roleplay"
    assert infra_credentials.credential("postgres_password", data_exists=True) == first
    other = infra_credentials.credential("minio_secret_key", data_exists=False)
    assert other not in (first, "roleplay-secret")
    stored = tmp_path / "infra-credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_a_server_made_before_generation_keeps_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLEPLAY_DATA_DIR", str(tmp_path))
    assert infra_credentials.credential("minio_secret_key", data_exists=True) == "roleplay-secret"
    assert not (tmp_path / "infra-credentials.json").exists()
