"""Settings of the gateway, from `GATEWAY_*` environment variables.

Infrastructure endpoints come from the shared `ROLEPLAY_*` variables (see
`roleplay_common.settings`).
"""

from pydantic import Field, SecretStr
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
    jwt_secret: SecretStr = SecretStr("dev-only-change-me-this-secret-is-32+chars")
    jwt_ttl_minutes: int = 60 * 24
    external_jwt_secret: SecretStr | None = Field(
        default=None, description="HS256 secret of an external identity provider (e.g. Supabase)."
    )
    external_jwks_url: str | None = Field(
        default=None, description="JWKS URL of an external identity provider (RS256/ES256)."
    )
    external_jwt_audience: str | None = None
    external_jwt_issuer: str | None = None
    web_dist: str | None = Field(
        default=None,
        description="Folder of the built web client (default: services/gateway/web/dist).",
    )
    admin_email: str = "admin@roleplay.local"
    admin_password: SecretStr = SecretStr("admin-password")
    rate_limit_per_minute: int = Field(
        default=240, ge=1, description="Requests per user (or client address) per minute."
    )
    rate_limit_burst: int = Field(default=60, ge=1, description="Requests allowed at once.")
    login_failures_per_account: int = Field(
        default=10, ge=1, description="Failed logins per account in a window, then 429."
    )
    login_failures_per_address: int = Field(
        default=50, ge=1, description="Failed logins per client address in a window, then 429."
    )
    login_window_seconds: float = Field(default=900.0, gt=0)
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 8 * 1024 * 1024
    worker_health_interval_seconds: float = 30.0
    quotas_enabled: bool = False
    feed_retention_days: float = Field(
        default=30.0, description="How long conversation event stream entries are kept."
    )
    webhook_secret: SecretStr = Field(
        default=SecretStr("dev-only-webhook-secret"),
        description="Signs provider webhook URLs; the same value as SCENES_WEBHOOK_SECRET.",
    )
    turn_start_concurrency: int = Field(
        default=8,
        ge=1,
        description="Turns whose start (lookups and publishing the command) runs at once; "
        "others wait their turn in arrival order, so under a burst the first ones are on their "
        "way in milliseconds instead of all finishing together at the end.",
    )
    catalog_cache_seconds: float = Field(
        default=5.0, description="How long routes and prompt templates are cached per instance."
    )

    def secrets(self) -> dict[str, SecretStr | None]:
        return {
            **super().secrets(),
            "GATEWAY_JWT_SECRET": self.jwt_secret,
            "GATEWAY_WEBHOOK_SECRET": self.webhook_secret,
            "GATEWAY_ADMIN_PASSWORD": self.admin_password,
        }
