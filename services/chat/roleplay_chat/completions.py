"""`POST /internal/completions`: one whole (not streamed to anyone) completion for a helper
feature of the gateway — enhancing a scene prompt, suggesting a character's fields.

1. The gateway sends the messages and the routes, in order, as it does for a turn, and may
   ask for a JSON answer by schema.
2. One non-streamed provider call (`providers/whole_completion.py`) per attempt, with a turn's
   routing: retries with backoff, fallback to the next route, unhealthy local workers skipped,
   the model's concurrency limit honoured.
3. Every provider call is counted once: one `usage.recorded` per attempt, through the outbox.
4. The answer is the text, or why no model gave one (`ok: false`), which the gateway turns
   into its `503`; a failure is a result here, not an error of this service.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from roleplay_chat.domain.tokens import count_tokens, counter_for
from roleplay_chat.providers.openai_compatible import StreamEvent
from roleplay_chat.providers.whole_completion import complete_whole
from roleplay_chat.routing import Attempt, TurnFailedError, stream_with_fallback
from roleplay_chat.turns import TurnRunner
from roleplay_common.db import add_to_outbox
from roleplay_common.events import ModelRoute, UsageRecorded
from roleplay_common.internal_api import RuntimeDep
from roleplay_common.logging import get_logger

log = get_logger(__name__)
router = APIRouter(prefix="/internal", tags=["internal"])


class CompletionMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=100_000)


class CompletionRequest(BaseModel):
    user_id: uuid.UUID
    request_type: Literal["prompt_enhancement", "character_suggestions"] = Field(
        description="What the call is for, as usage counts it."
    )
    routes: list[ModelRoute] = Field(min_length=1, description="Models to try, in order.")
    messages: list[CompletionMessage] = Field(min_length=1)
    max_tokens: int = Field(default=400, ge=1, le=8192)
    temperature: float = Field(default=0.7, ge=0, le=2)
    reference_id: str | None = Field(default=None, max_length=200)
    json_schema: dict[str, Any] | None = Field(
        default=None, description="Ask for a JSON object of this schema (structured outputs)."
    )


class CompletionFailure(BaseModel):
    code: str
    message: str


class CompletionResult(BaseModel):
    ok: bool
    text: str = ""
    model: str | None = Field(default=None, description="The model that answered.")
    provider: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    error: CompletionFailure | None = None


@router.post("/completions", response_model=CompletionResult)
async def complete(
    body: CompletionRequest, request: Request, runtime: RuntimeDep
) -> CompletionResult:
    """Run one completion with retries and fallback; usage is recorded for every attempt."""
    turns: TurnRunner = request.app.state.turns
    messages = [m.model_dump() for m in body.messages]

    async def stream(route: ModelRoute) -> AsyncIterator[StreamEvent]:
        gate = turns.limits.gate(route)
        async with gate:
            async for event in complete_whole(
                turns.providers,
                route,
                messages,
                max_tokens=min(body.max_tokens, route.max_output_tokens),
                temperature=body.temperature,
                json_schema=body.json_schema,
            ):
                yield event

    async def ignore(_text: str) -> None:
        return None

    result: CompletionResult
    try:
        reply = await stream_with_fallback(
            body.routes,
            stream,
            ignore,
            health=turns.health,
            retries=turns.settings.provider_retries,
            backoff=turns.settings.provider_backoff_seconds,
        )
        attempts = reply.attempts
        tokens_in, tokens_out = _tokens(attempts[-1], messages)
        result = CompletionResult(
            ok=True,
            text=reply.text,
            model=reply.route.model_key,
            provider=reply.route.provider,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
        )
    except TurnFailedError as failure:
        attempts = failure.attempts
        log.warning("completion failed", code=failure.code, request_type=body.request_type)
        result = CompletionResult(
            ok=False, error=CompletionFailure(code=failure.code, message=failure.message)
        )
    async with runtime.db.transaction() as session:
        for attempt in attempts:
            tokens_in, tokens_out = _tokens(attempt, messages)
            route = attempt.route
            await add_to_outbox(
                session,
                runtime.schema,
                runtime.topics,
                runtime.envelope(
                    UsageRecorded(
                        user_id=body.user_id,
                        provider=route.provider,
                        model=route.model_key,
                        request_type=body.request_type,
                        tokens_in=tokens_in,
                        tokens_out=tokens_out,
                        cost_in=_cost(tokens_in, route.input_cost_per_mtok),
                        cost_out=_cost(tokens_out, route.output_cost_per_mtok),
                        status=_status(attempt),
                        response_status=attempt.error.status if attempt.error else 200,
                        latency_ms=attempt.latency_ms,
                        occurred_at=datetime.now(UTC),
                        reference_id=body.reference_id,
                        error_code=attempt.error.code if attempt.error else None,
                    )
                ),
            )
    return result


def _tokens(attempt: Attempt, messages: list[dict[str, str]]) -> tuple[int, int]:
    """Tokens as the provider reported them, else estimated (the call was made either way)."""
    end = attempt.end
    if end is not None and end.prompt_tokens is not None:
        tokens_in = end.prompt_tokens
    else:
        count = counter_for(attempt.route.model_name)
        tokens_in = sum(count(m["content"]) for m in messages)
    if end is not None and end.completion_tokens is not None:
        tokens_out = end.completion_tokens
    else:
        tokens_out = count_tokens(attempt.text)
    return tokens_in, tokens_out


def _cost(tokens: int, per_million: Decimal) -> Decimal:
    return (Decimal(tokens) * per_million / Decimal(1_000_000)).quantize(Decimal("0.000001"))


def _status(attempt: Attempt) -> Literal["success", "error", "timeout"]:
    if attempt.ok:
        return "success"
    if attempt.error is not None and attempt.error.code == "provider_timeout":
        return "timeout"
    return "error"
