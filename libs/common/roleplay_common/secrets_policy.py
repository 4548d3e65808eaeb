"""No service runs with a secret anyone can read in this repository.

Each service's settings name their secrets (`ServiceSettings.secrets`). At start, a secret that
is unset, too short, or one of the well-known development values stops the service with a
message naming the variable, unless `ROLEPLAY_ENV=dev` says this is a developer's machine.
`roleplay up` generates real values on first start, so it never needs dev mode.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that have appeared in this repository's defaults, examples or manifests.
WELL_KNOWN = frozenset(
    {
        "",
        "admin-password",
        "change-me",
        "change-me-webhook-secret",
        "changeme",
        "dev-only-change-me-this-secret-is-32+chars",
        "dev-only-service-token",
        "dev-only-webhook-secret",
        "roleplay",
        "roleplay-secret",
        "secret",
    }
)
MIN_LENGTH = 16


class RuntimeEnvironment(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEPLAY_", extra="ignore")

    env: str = "production"

    @property
    def dev(self) -> bool:
        return self.env.strip().lower() == "dev"


class InsecureSettingsError(RuntimeError):
    """A secret is missing or publicly known, outside dev mode."""


def weak_secrets(secrets: Mapping[str, SecretStr | None]) -> list[str]:
    """The variable names whose secret is unset, short or well known."""
    weak = []
    for name, secret in secrets.items():
        value = secret.get_secret_value() if secret is not None else ""
        if value in WELL_KNOWN or len(value) < MIN_LENGTH:
            weak.append(name)
    return weak


def refuse_weak_secrets(
    service: str,
    secrets: Mapping[str, SecretStr | None],
    environment: RuntimeEnvironment | None = None,
) -> None:
    """Raise `InsecureSettingsError` naming the weak secrets, unless in dev mode."""
    if (environment or RuntimeEnvironment()).dev:
        return
    weak = weak_secrets(secrets)
    if weak:
        raise InsecureSettingsError(
            f"{service} will not start: {', '.join(weak)} "
            f"{'is' if len(weak) == 1 else 'are'} unset, shorter than {MIN_LENGTH} characters "
            "or a value published in the repository. Set a secret of your own "
            "(`roleplay up` generates them into .local/infra/secrets.env), or set ROLEPLAY_ENV=dev "
            "on a developer's machine to accept the development defaults."
        )
