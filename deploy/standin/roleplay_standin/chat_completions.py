"""STAND-IN OpenAI-compatible chat: `POST /v1/chat/completions` and `GET /v1/models`.

Non-streaming answers are `chat.completion` objects. With `stream: true` the answer is SSE
as OpenAI sends it: `data: {chat.completion.chunk}` lines — a first chunk with
`delta.role`, one chunk per token with `delta.content`, a final chunk with `finish_reason`
(`stop`, or `length` when `max_tokens` cut the reply short) that also carries `usage` as
OpenRouter does, then, when `stream_options.include_usage` is true, a usage chunk with empty
`choices` (earlier chunks then carry `"usage": null`, as OpenAI's do), then `data: [DONE]`.

Timing: the first chunk comes after `first_token_ms`; tokens follow at `tokens_per_second`
(0: as fast as possible). A non-streaming answer waits as long as the stream would take.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from roleplay_standin.failure_responses import (
    DropConnection,
    StandinStream,
    error_response,
    injected_error,
    json_answer,
    json_body,
    key_accepted,
    unauthorized,
)
from roleplay_standin.knobs import Config, Failure
from roleplay_standin.replies import (
    count_prompt_tokens,
    last_user_message,
    reply_tokens,
    scripted_tokens,
    structured_reply,
)
from roleplay_standin.state import state_of

router = APIRouter(tags=["chat (OpenAI-compatible)"])
_STARTED = int(time.time())
_FINGERPRINT = "fp_standin"


@dataclass(frozen=True)
class Reply:
    id: str
    model: str
    created: int
    tokens: list[str]
    finish_reason: str
    usage: dict[str, int]
    first_token_s: float
    token_gap_s: float
    sse_comments: bool

    @classmethod
    def plan(cls, body: dict[str, Any], model: str, config: Config) -> Reply:
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        limit = limit if isinstance(limit, int) and limit > 0 else None
        count = min(config.output_tokens, limit) if limit else config.output_tokens
        messages: list[Any] = body["messages"]
        cut = limit is not None and limit < config.output_tokens
        scripted = config.scripted_replies.get(model)
        if scripted is not None:
            tokens = scripted_tokens(scripted)
            cut = limit is not None and limit < len(tokens)
            tokens = tokens[:limit] if limit else tokens
            completion_tokens = len(tokens)
        else:
            tokens = reply_tokens(last_user_message(messages), model, count)
            completion_tokens = len(tokens)
            structured = structured_reply(body.get("response_format"), tokens, model)
            if structured is not None:
                tokens, completion_tokens = [structured], max(1, len(structured) // 4)
        prompt_tokens = count_prompt_tokens(messages)
        return cls(
            id=f"chatcmpl-standin-{uuid.uuid4().hex[:20]}",
            model=model,
            created=int(time.time()),
            tokens=tokens,
            finish_reason="length" if cut else "stop",
            usage={
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            first_token_s=config.first_token_ms / 1000,
            token_gap_s=1 / config.tokens_per_second if config.tokens_per_second > 0 else 0.0,
            sse_comments=config.sse_comments,
        )

    def completion(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": _FINGERPRINT,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "".join(self.tokens),
                        "refusal": None,
                    },
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": self.usage,
        }

    def chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        data = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": _FINGERPRINT,
            "choices": choices,
            **extra,
        }
        return f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


@router.get("/v1/models")
async def list_models(request: Request) -> Response:
    config = state_of(request).knobs.config
    if not key_accepted(request, "chat", config.require_key):
        return unauthorized("chat")
    models = [
        {"id": name, "object": "model", "created": _STARTED, "owned_by": "standin"}
        for name in config.models
    ]
    return JSONResponse({"object": "list", "data": models})


@router.post("/v1/chat/completions")
async def chat_completions(request: Request) -> Response:
    state = state_of(request)
    config = state.knobs.config
    body = await json_body(request)
    model = body.get("model") if isinstance(body, dict) else None
    entry = state.record(request, "chat", model if isinstance(model, str) else None, body)
    if not key_accepted(request, "chat", config.require_key):
        entry["outcome"] = "unauthorized"
        return unauthorized("chat")
    if (
        not isinstance(body, dict)
        or not isinstance(model, str)
        or not model
        or not isinstance(body.get("messages"), list)
        or not body["messages"]
    ):
        entry["outcome"] = "invalid"
        return error_response(
            "chat", 400, "STAND-IN: the body needs `model` and a non-empty `messages` list"
        )
    failure = state.knobs.take_failure(
        "chat", model, kinds=("status", "stall", "cut", "stream_error")
    )
    if failure is not None:
        entry["outcome"] = failure.describe()
    reply = Reply.plan(body, model, config)
    if not body.get("stream"):
        if failure is not None and failure.kind in ("status", "stream_error"):
            return injected_error("chat", failure)
        await asyncio.sleep(reply.first_token_s + reply.token_gap_s * len(reply.tokens))
        return json_answer(reply.completion(), failure=failure)
    if failure is not None and failure.kind == "status":
        return injected_error("chat", failure)
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    return StandinStream(
        _with_failure(_events(reply, include_usage), failure, reply),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(reply: Reply, include_usage: bool) -> AsyncIterator[bytes]:
    """Every SSE event of a healthy stream, paced by the knobs."""
    extra: dict[str, Any] = {"usage": None} if include_usage else {}
    await asyncio.sleep(reply.first_token_s)
    yield reply.chunk([_choice({"role": "assistant", "content": "", "refusal": None})], **extra)
    start = time.monotonic()
    for n, token in enumerate(reply.tokens):
        if reply.token_gap_s:
            await asyncio.sleep(max(0.0, start + n * reply.token_gap_s - time.monotonic()))
        yield reply.chunk([_choice({"content": token})], **extra)
    yield reply.chunk([_choice({}, reply.finish_reason)], usage=reply.usage)
    if include_usage:
        yield reply.chunk([], usage=reply.usage)
    yield b"data: [DONE]\n\n"


async def _with_failure(
    events: AsyncIterator[bytes], failure: Failure | None, reply: Reply
) -> AsyncIterator[bytes]:
    """The stream as the failure shapes it: stalled after its first chunk, cut after
    `after_chunks` chunks, or ended by an error chunk."""
    if reply.sse_comments:
        yield b": STANDIN PROCESSING\n\n"
    sent = 0
    async for event in events:
        if failure is not None and sent >= failure.after_chunks:
            if failure.kind == "stream_error":
                yield reply.chunk(
                    [_choice({"content": ""}, "error")],
                    error={
                        "code": failure.status,
                        "message": failure.message or "STAND-IN injected stream error",
                    },
                )
                return
            if failure.kind == "cut":
                if failure.abrupt:
                    raise DropConnection
                return
        yield event
        sent += 1
        if failure is not None and failure.kind == "stall" and sent == 1:
            # Hang; with `sse_comments` a keep-alive comment every second, as OpenRouter
            # sends while a model is slow, so only a first-token deadline catches it.
            deadline = time.monotonic() + failure.stall_seconds
            while (left := deadline - time.monotonic()) > 0:
                await asyncio.sleep(min(left, 1.0) if reply.sse_comments else left)
                if reply.sse_comments and deadline > time.monotonic():
                    yield b": STANDIN PROCESSING\n\n"
