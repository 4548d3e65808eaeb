"""Settings of the chat service, from `CHAT_*` environment variables.

Infrastructure endpoints come from the shared `ROLEPLAY_*` variables (see
`roleplay_common.settings`).
"""

from pydantic_settings import SettingsConfigDict

from roleplay_common.settings import ServiceSettings


class ChatSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CHAT_", extra="ignore")

    port: int = 8001
