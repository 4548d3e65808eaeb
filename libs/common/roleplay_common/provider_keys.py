"""Which environment variables may hold a model provider's key.

A provider names the variable that holds its key (`api_key_env`); the key itself is never
stored. Without a rule, an admin could name one of the service's own secrets
(`ROLEPLAY_S3_SECRET_KEY`, `GATEWAY_JWT_SECRET`) and have it sent to a URL of their choice.
So a name must match the allow-list (`ROLEPLAY_PROVIDER_KEY_ENV_ALLOWED`, glob patterns
separated by commas; by default `PROVIDER_KEY_*` and `*_API_KEY`) and never start with a
service's own prefix. The admin API refuses other names (`ProviderKeyEnv`, a 422 naming the
field), and the services that call providers read a key only through `provider_key`, which
treats any other name as no key at all.
"""

from __future__ import annotations

import os
import re
from fnmatch import fnmatchcase
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from roleplay_common.logging import get_logger

log = get_logger(__name__)

SERVICE_PREFIXES = ("ROLEPLAY_", "GATEWAY_", "CHAT_", "SCENES_", "LIBRARY_", "USAGE_")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class ProviderKeySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEPLAY_PROVIDER_KEY_ENV_", extra="ignore")

    allowed: str = Field(
        default="PROVIDER_KEY_*,*_API_KEY",
        description="Glob patterns, comma-separated, of variables that may hold provider keys.",
    )

    def patterns(self) -> list[str]:
        return [p.strip() for p in self.allowed.split(",") if p.strip()]


def refusal(name: str, patterns: list[str]) -> str | None:
    """Why `name` may not hold a provider key, or None when it may."""
    if not ENV_NAME.match(name):
        return "must be an environment variable name (A-Z, 0-9, _)"
    if name.startswith(SERVICE_PREFIXES):
        return f"must not name a setting of the services ({', '.join(SERVICE_PREFIXES)}…)"
    if not any(fnmatchcase(name, pattern) for pattern in patterns):
        return f"must match one of {', '.join(patterns)}"
    return None


def check_key_env(name: str) -> str:
    if reason := refusal(name, ProviderKeySettings().patterns()):
        raise ValueError(reason)
    return name


ProviderKeyEnv = Annotated[str, AfterValidator(check_key_env)]


def provider_key(name: str | None) -> str | None:
    """The key in the variable `name`, when the allow-list lets it hold one; else None."""
    if not name:
        return None
    if reason := refusal(name, ProviderKeySettings().patterns()):
        log.warning("provider key variable refused", variable=name, reason=reason)
        return None
    return os.environ.get(name)
