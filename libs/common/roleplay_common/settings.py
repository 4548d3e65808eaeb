"""Settings read from the environment.

Infrastructure endpoints are shared by every service and read with the `ROLEPLAY_` prefix
(`ROLEPLAY_KAFKA_*`, `ROLEPLAY_DATABASE_*`, `ROLEPLAY_S3_*`), so one set of variables points
the whole system at its Kafka, PostgreSQL and MinIO. Each service's own settings subclass
`ServiceSettings` with a prefix of its own (`GATEWAY_`, `CHAT_`, ...). Defaults work with
`make up` on one machine.

The service token (`ROLEPLAY_SERVICE_TOKEN`) is shared the same way: every internal caller sends
it and every service checks it (`roleplay_common.service_auth`).
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEPLAY_KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:19092"
    topic_prefix: str = Field(
        default="", description="Prepended to every topic name; isolates test runs."
    )
    partitions: int = Field(default=6, description="Partitions of topics the services create.")
    replication_factor: int = 1
    linger_ms: int = Field(default=1, description="Producer linger; low for the streaming path.")


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEPLAY_DATABASE_", extra="ignore")

    url: SecretStr = SecretStr("postgresql+asyncpg://roleplay:roleplay@127.0.0.1:15432/roleplay")
    pool_size: int = Field(
        default=30,
        description="Connections kept open. Under load a connection opened and closed per "
        "use costs more than the statement (asyncpg prepares and introspects anew), so the "
        "pool is sized for the peak and overflow is small.",
    )
    max_overflow: int = 5
    pre_ping: bool = Field(
        default=False,
        description="Test each connection with a round trip before use. Off: a dead "
        "connection fails one statement, and the pool then replaces all connections older "
        "than that failure.",
    )
    echo: bool = False


class StorageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEPLAY_S3_", extra="ignore")

    endpoint: str = "127.0.0.1:19000"
    public_endpoint: str | None = Field(
        default=None,
        description="Host[:port] used in signed URLs handed to clients, when it differs.",
    )
    access_key: str = "roleplay"
    secret_key: SecretStr = SecretStr("roleplay-secret")
    secure: bool = False
    region: str = "us-east-1"
    bucket_prefix: str = Field(default="", description="Prepended to bucket names (tests).")
    signed_url_ttl_seconds: int = 3600


class ServiceAuthSettings(BaseSettings):
    """The credential services present to each other's internal HTTP APIs."""

    model_config = SettingsConfigDict(env_prefix="ROLEPLAY_SERVICE_", extra="ignore")

    token: SecretStr = Field(
        default=SecretStr("dev-only-service-token"),
        description="Sent by every internal caller, accepted by every service.",
    )
    token_previous: SecretStr = Field(
        default=SecretStr(""),
        description="Comma-separated tokens still accepted (not sent) while one is rotated.",
    )

    def accepted(self) -> list[str]:
        """The current token first, then the previous ones."""
        previous = self.token_previous.get_secret_value().split(",")
        return [self.token.get_secret_value(), *(t.strip() for t in previous if t.strip())]

    def secrets(self) -> dict[str, SecretStr | None]:
        named: dict[str, SecretStr | None] = {"ROLEPLAY_SERVICE_TOKEN": self.token}
        for number, token in enumerate(self.accepted()[1:], start=1):
            named[f"ROLEPLAY_SERVICE_TOKEN_PREVIOUS (entry {number})"] = SecretStr(token)
        return named


class TracingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEPLAY_OTEL_", extra="ignore")

    enabled: bool = Field(
        default=False,
        description="Export traces over OTLP/HTTP (endpoint: `OTEL_EXPORTER_OTLP_ENDPOINT`, "
        "default `http://localhost:4318`; headers: `OTEL_EXPORTER_OTLP_HEADERS`).",
    )
    sample_ratio: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Share of new traces kept (parent-based)."
    )
    database_spans: bool = Field(
        default=True, description="A span per SQL statement (asyncpg) inside a traced request."
    )


class ServiceSettings(BaseSettings):
    """Base of every service's settings; subclasses set `env_prefix`."""

    model_config = SettingsConfigDict(extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_json: bool = True
    migrate_on_start: bool = True
    outbox_poll_interval_ms: int = 200
    consumer_retries: int = Field(
        default=3, description="Attempts of a failing handler before the event is dead-lettered."
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    service_auth: ServiceAuthSettings = Field(default_factory=ServiceAuthSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)

    def secrets(self) -> dict[str, SecretStr | None]:
        """This service's secrets by environment variable, checked at start (see
        `roleplay_common.secrets_policy`): the service token, and a subclass's own."""
        return self.service_auth.secrets()
