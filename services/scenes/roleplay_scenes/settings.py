"""Settings of the scenes service, from `SCENES_*` environment variables.

Infrastructure endpoints come from the shared `ROLEPLAY_*` variables (see
`roleplay_common.settings`).
"""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from roleplay_common.settings import ServiceSettings


class ScenesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SCENES_", extra="ignore")

    port: int = 8002
    workspace_ttl_hours: float = Field(
        default=24.0, description="How long generated images stay in workspace-temp."
    )
    sweep_interval_seconds: float = 300.0
    poll_interval_seconds: float = Field(default=0.25, description="Provider status polling.")
    job_timeout_seconds: float = 300.0
    provider_retries: int = 2
    provider_backoff_seconds: float = 0.25
    thumbnail_px: int = 256
    max_concurrent_jobs: int = 16
    lease_seconds: float = Field(
        default=30.0,
        description="A job's lease; renewed while it runs, taken over by any instance once past.",
    )
    max_attempts: int = Field(
        default=3, description="Runs of one job (the first plus takeovers) before it fails."
    )
    webhook_base_url: str | None = Field(
        default=None,
        description="Public URL of the gateway; when set, providers call back through it "
        "(polling continues as the fallback).",
    )
    webhook_secret: SecretStr = SecretStr("dev-only-webhook-secret")

    def secrets(self) -> dict[str, SecretStr | None]:
        return {**super().secrets(), "SCENES_WEBHOOK_SECRET": self.webhook_secret}
