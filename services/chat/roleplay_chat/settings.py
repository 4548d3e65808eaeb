"""Settings of the chat service, from `CHAT_*` environment variables.

Infrastructure endpoints come from the shared `ROLEPLAY_*` variables (see
`roleplay_common.settings`).
"""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from roleplay_common.settings import ServiceSettings


class ChatSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CHAT_", extra="ignore")

    port: int = 8001
    delta_window_ms: int = Field(
        default=40,
        ge=0,
        le=1000,
        description="After a reply's first text, text arriving within this window is sent "
        "as one delta record (0: one record per provider chunk).",
    )
    delta_records_per_second: int = Field(
        default=1000,
        ge=0,
        description="The delta records per second all of this process's replies send "
        "together: with more replies streaming than this budget carries at "
        "`delta_window_ms`, each reply's window grows (0: no budget).",
    )
    delta_window_max_ms: int = Field(
        default=250, ge=0, le=2000, description="The longest a reply's window grows to."
    )
    provider_max_connections: int = Field(
        default=10_000, description="Open HTTP connections to providers, reused across turns."
    )
    first_token_timeout_seconds: float = Field(
        default=30.0, description="Wait for a provider's first text before giving up on it."
    )
    idle_timeout_seconds: float = Field(
        default=20.0, description="Longest gap between two chunks of a stream."
    )
    provider_retries: int = Field(default=2, description="Retries per model before fallback.")
    provider_backoff_seconds: float = 0.25
    accept_concurrency: int = Field(
        default=8,
        ge=1,
        description="Turn commands accepted at once (each a short transaction); a burst is "
        "accepted in arrival order, each turn streaming as soon as it is accepted, instead of "
        "all of them interleaved and starting together at the end.",
    )
    history_limit: int = Field(
        default=200, description="Newest messages read for a turn before the token budget."
    )
    turn_lease_seconds: float = Field(
        default=15.0,
        description="An instance renews the leases of its turns every third of this; a turn "
        "whose lease ran out (its instance stopped) is taken over by another instance.",
    )
    worker_health_interval_seconds: float = 30.0
    memory_keep_recent: int = Field(
        default=40, description="Newest messages left out of the memory summary."
    )
    memory_batch: int = Field(
        default=20, description="Older messages to accumulate before the summary is updated."
    )
    memory_max_tokens: int = Field(default=600, description="Reply tokens a memory update may use.")
