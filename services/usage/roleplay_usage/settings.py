"""Settings of the usage service, from `USAGE_*` environment variables.

Infrastructure endpoints come from the shared `ROLEPLAY_*` variables (see
`roleplay_common.settings`).
"""

from decimal import Decimal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from roleplay_common.settings import ServiceSettings


class UsageSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="USAGE_", extra="ignore")

    port: int = 8004
    initial_credits: Decimal = Field(
        default=Decimal(100),
        description="Balance a user starts with (at their first call or grant), in credits.",
    )
    batch_max_records: int = Field(default=500, description="Events per ingest transaction.")
    batch_timeout_ms: int = Field(default=200, description="Longest wait to fill a batch.")
    ingest_consumer: str = Field(
        default="ingest",
        description="Consumer name; the Kafka group is `usage.<name>`. A new name reads the "
        "topic again from offset 0 (a replay), which changes no count.",
    )
