"""`roleplay up` makes its own secrets once, keeps them private, and says where they are."""

from __future__ import annotations

import stat
from pathlib import Path

from roleplay_common.secrets_policy import weak_secrets
from roleplay_local.local_secrets import announcement, local_secrets


def test_first_start_generates_private_secrets_that_later_starts_reuse(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secrets.env"
    made, created = local_secrets(path)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert made["GATEWAY_WEBHOOK_SECRET"] == made["SCENES_WEBHOOK_SECRET"]
    from pydantic import SecretStr

    names = (
        "GATEWAY_JWT_SECRET",
        "GATEWAY_WEBHOOK_SECRET",
        "GATEWAY_ADMIN_PASSWORD",
        "ROLEPLAY_SERVICE_TOKEN",
    )
    assert weak_secrets({n: SecretStr(made[n]) for n in names}) == []
    again, created_again = local_secrets(path)
    assert (again, created_again) == (made, False)
    assert made["GATEWAY_ADMIN_PASSWORD"] in announcement(made, True, path, {})
    later = announcement(again, False, path, {})
    assert made["GATEWAY_ADMIN_PASSWORD"] not in later and str(path) in later
    other, _ = local_secrets(tmp_path / "other.env")
    assert other["GATEWAY_JWT_SECRET"] != made["GATEWAY_JWT_SECRET"]


def test_a_secret_added_by_a_later_version_is_generated_into_an_existing_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("# older version\nGATEWAY_JWT_SECRET=kept-from-before-0123456789\n")
    path.chmod(0o600)
    values, created = local_secrets(path)
    assert not created
    assert values["GATEWAY_JWT_SECRET"] == "kept-from-before-0123456789"
    assert len(values["ROLEPLAY_SERVICE_TOKEN"]) >= 32
    assert local_secrets(path) == (values, False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
