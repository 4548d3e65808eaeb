"""The STAND-IN's behaviour knobs: latency, token rate, reply length, image jobs, failures.

Set at start from CLI flags and `STANDIN_*` environment variables; changed at runtime with
`POST /_standin/config` (a partial update: fields not given keep their value, `failures` is
replaced as a whole when given), `POST /_standin/failures` (append one failure) and
`POST /_standin/reset` (back to the start-up values).

A failure matches a request by route `family` (`chat`, `fal`, `replicate`, `images`; none:
any), by `model` (exact name; none: any) and by `stage` (`submit`: the request that asks for
work; `poll`: status/result reads of a fal or Replicate job). The next `count` matching
requests fail (-1: all), or, with `fraction`, each matching request fails with that
probability (drawn from a generator seeded by `seed`, so runs repeat).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Collection, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Family = Literal["chat", "fal", "replicate", "images"]
Stage = Literal["submit", "poll"]
FailureKind = Literal["status", "stall", "cut", "stream_error", "job_error"]

DEFAULT_MODELS = [
    "standin-roleplay",
    "standin-fallback",
    "standin-image",
    "standin-image-b",
    "standin-dalle",
]


class Failure(BaseModel):
    """One injected failure.

    `kind`: `status` answers HTTP `status` in the provider's error shape (429 and 503 carry
    `Retry-After: retry_after`); `stall` accepts the request, sends the headers (and for a
    chat stream its first chunk), then hangs `stall_seconds` before carrying on; `cut` ends
    the answer after `after_chunks` SSE chunks (half the body for a JSON answer) with no
    `[DONE]`, cleanly or, with `abrupt`, by dropping the connection mid-body;
    `stream_error` sends an OpenRouter-style `{"error": …}` chunk after `after_chunks` chunks
    (chat streams only); `job_error` accepts a fal or Replicate job that then ends in error.
    """

    model_config = ConfigDict(extra="forbid")

    family: Family | None = None
    model: str | None = None
    stage: Stage = "submit"
    kind: FailureKind = "status"
    status: int = Field(default=500, ge=400, le=599)
    retry_after: int = Field(default=1, ge=0)
    count: int = Field(default=1, ge=-1, description="How many requests fail; -1: all.")
    fraction: float | None = Field(default=None, ge=0, le=1)
    stall_seconds: float = Field(default=30.0, ge=0)
    after_chunks: int = Field(default=3, ge=0)
    abrupt: bool = False
    message: str | None = None

    def matches(self, family: Family, model: str | None, stage: Stage) -> bool:
        return (
            self.count != 0
            and self.family in (None, family)
            and self.model in (None, model)
            and self.stage == stage
        )

    def describe(self) -> str:
        return f"status {self.status}" if self.kind == "status" else self.kind


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_token_ms: int = Field(default=20, ge=0, description="Wait before the first chunk.")
    tokens_per_second: float = Field(default=200, ge=0, description="0: as fast as possible.")
    output_tokens: int = Field(default=60, ge=1, description="Reply length unless max_tokens.")
    image_job_ms: int = Field(default=300, ge=0, description="How long an image job takes.")
    image_size: int = Field(default=512, ge=16, le=2048, description="Default image side.")
    image_pad_bytes: int = Field(default=0, ge=0, description="Pad each PNG to this size.")
    webhooks: bool = Field(default=True, description="Deliver webhooks when asked to.")
    webhook_attempts: int = Field(default=3, ge=1)
    sse_comments: bool = Field(
        default=False, description="Send `: STANDIN PROCESSING` comments while waiting."
    )
    require_key: str | None = Field(default=None, description="None: any key, or none.")
    models: list[str] = Field(default_factory=lambda: list(DEFAULT_MODELS))
    seed: int = Field(default=0, description="Seeds the draws of `fraction` failures.")
    failures: list[Failure] = Field(default_factory=list)
    scripted_replies: dict[str, str] = Field(
        default_factory=dict,
        description="Model name → a fixed reply text, sent word by word (`max_tokens` still "
        "cuts it; `output_tokens` does not), e.g. JSON a caller must parse.",
    )


def config_from_env(environ: Mapping[str, str] | None = None) -> Config:
    """A `Config` from `STANDIN_<FIELD>` variables (`STANDIN_FAILURES` is a JSON list,
    `STANDIN_MODELS` a comma-separated list); unset fields keep their defaults."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name in Config.model_fields:
        raw = environ.get(f"STANDIN_{name.upper()}")
        if raw is None:
            continue
        if name in ("failures", "scripted_replies"):
            values[name] = json.loads(raw)
        elif name == "models":
            values[name] = [m.strip() for m in raw.split(",") if m.strip()]
        else:
            values[name] = raw
    return Config.model_validate(values)


class Knobs:
    """The live configuration, and the failures it still has to inject."""

    def __init__(self, startup: Config | None = None) -> None:
        self.startup = startup or Config()
        self.config = self.startup.model_copy(deep=True)
        self._draws = random.Random(self.config.seed)

    def update(self, patch: Mapping[str, Any]) -> Config:
        merged = {**self.config.model_dump(), **patch}
        self.config = Config.model_validate(merged)
        if "seed" in patch:
            self._draws = random.Random(self.config.seed)
        return self.config

    def add_failure(self, failure: Failure) -> Config:
        self.config.failures.append(failure)
        return self.config

    def reset(self) -> Config:
        self.config = self.startup.model_copy(deep=True)
        self._draws = random.Random(self.config.seed)
        return self.config

    def take_failure(
        self,
        family: Family,
        model: str | None,
        *,
        stage: Stage = "submit",
        kinds: Collection[FailureKind] = ("status", "stall", "cut"),
    ) -> Failure | None:
        """The failure this request suffers, if any; consumes one of its `count`."""
        for failure in self.config.failures:
            if failure.kind not in kinds or not failure.matches(family, model, stage):
                continue
            if failure.fraction is not None and self._draws.random() >= failure.fraction:
                continue
            if failure.count > 0:
                failure.count -= 1
            return failure.model_copy()
        return None
