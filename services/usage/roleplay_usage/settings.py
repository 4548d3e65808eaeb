"""Settings of the usage service, from `USAGE_*` environment variables.

Infrastructure endpoints come from the shared `ROLEPLAY_*` variables (see
`roleplay_common.settings`).
"""

from pydantic_settings import SettingsConfigDict

from roleplay_common.settings import ServiceSettings


class UsageSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="USAGE_", extra="ignore")

    port: int = 8004
