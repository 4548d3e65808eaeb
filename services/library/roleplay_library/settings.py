"""Settings of the library service, from `LIBRARY_*` environment variables.

Infrastructure endpoints come from the shared `ROLEPLAY_*` variables (see
`roleplay_common.settings`).
"""

from pydantic_settings import SettingsConfigDict

from roleplay_common.settings import ServiceSettings


class LibrarySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIBRARY_", extra="ignore")

    port: int = 8003
