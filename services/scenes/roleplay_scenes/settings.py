"""Settings of the scenes service, from `SCENES_*` environment variables.

Infrastructure endpoints come from the shared `ROLEPLAY_*` variables (see
`roleplay_common.settings`).
"""

from pydantic_settings import SettingsConfigDict

from roleplay_common.settings import ServiceSettings


class ScenesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SCENES_", extra="ignore")

    port: int = 8002
