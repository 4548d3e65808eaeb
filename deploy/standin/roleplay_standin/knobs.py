"""Behaviour knobs of the stand-in, settable at start (env `STANDIN_*`) and at runtime
(`POST /_standin/config`, `POST /_standin/reset`).

Failures are injected per route family (`chat`, `fal`) and optionally per model: the next
`count` matching requests fail with `status` (429 carries `Retry-After`), or `stall` (send
the headers, then hang `stall_seconds`), or `cut` (close the stream after `after_chunks`
chunks without `[DONE]`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

FailureKind = Literal["status", "stall", "cut"]


class Failure(BaseModel):
    family: Literal["chat", "fal", "replicate", "images"] = "chat"
    model: str | None = Field(default=None, description="Only this model; None: any.")
    kind: FailureKind = "status"
    status: int = 500
    count: int = Field(default=1, description="How many requests fail; -1: all of them.")
    stall_seconds: float = 30.0
    after_chunks: int = 3


class Config(BaseModel):
    first_token_ms: int = int(os.environ.get("STANDIN_FIRST_TOKEN_MS", "20"))
    tokens_per_second: float = float(os.environ.get("STANDIN_TOKENS_PER_SECOND", "200"))
    output_tokens: int = int(os.environ.get("STANDIN_OUTPUT_TOKENS", "60"))
    image_job_ms: int = int(os.environ.get("STANDIN_IMAGE_JOB_MS", "300"))
    image_size: int = int(os.environ.get("STANDIN_IMAGE_SIZE", "512"))
    image_pad_bytes: int = int(os.environ.get("STANDIN_IMAGE_PAD_BYTES", "0"))
    webhooks: bool = Field(default=True, description="Deliver fal webhooks when asked to.")
    failures: list[Failure] = Field(default_factory=list)


@dataclass
class Knobs:
    config: Config = field(default_factory=Config)

    def take_failure(self, family: str, model: str | None) -> Failure | None:
        """The failure this request must suffer, if any (consumes one of its count)."""
        for failure in self.config.failures:
            if failure.family != family or failure.count == 0:
                continue
            if failure.model is not None and failure.model != model:
                continue
            if failure.count > 0:
                failure.count -= 1
            return failure
        return None
