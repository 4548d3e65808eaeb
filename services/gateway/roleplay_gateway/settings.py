"""Settings of the gateway, from `GATEWAY_*` environment variables.

Infrastructure endpoints come from the shared `ROLEPLAY_*` variables (see
`roleplay_common.settings`).
"""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from roleplay_common.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    port: int = 8000
    chat_url: str = "http://127.0.0.1:8001"
    scenes_url: str = "http://127.0.0.1:8002"
    library_url: str = "http://127.0.0.1:8003"
    usage_url: str = "http://127.0.0.1:8004"
    standin_url: str = "http://127.0.0.1:18080"
    turn_stream_retention_seconds: float = Field(
        default=900.0, description="How long a finished turn's stream can be resumed from memory."
    )
