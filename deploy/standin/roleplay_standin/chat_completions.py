"""OpenAI-compatible `POST /v1/chat/completions` (streaming and not) and `GET /v1/models`."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from roleplay_standin.knobs import Failure, Knobs
from roleplay_standin.text import count_prompt_tokens, reply_tokens

router = APIRouter()


def _error(status: int, message: str) -> JSONResponse:
    headers = {"Retry-After": "1"} if status == 429 else {}
    body = {"error": {"message": message, "type": "standin_error", "code": status}}
    return JSONResponse(body, status_code=status, headers=headers)


@router.get("/v1/models")
async def models() -> dict[str, Any]:
    names = ["standin-roleplay", "standin-fallback", "standin-image"]
    return {
        "object": "list",
        "data": [{"id": n, "object": "model", "owned_by": "standin"} for n in names],
    }


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(request: Request) -> Response:
    knobs: Knobs = request.app.state.knobs
    try:
        body = await request.json()
        messages = list(body["messages"])
        model = str(body["model"])
    except (ValueError, KeyError, TypeError):
        return _error(400, "the body needs `model` and `messages`")
    request.app.state.requests.append({"path": "/v1/chat/completions", "body": body})
    failure = knobs.take_failure("chat", model)
    if failure is not None and failure.kind == "status":
        return _error(failure.status, f"injected failure {failure.status}")
    config = knobs.config
    max_tokens = int(body.get("max_tokens") or config.output_tokens)
    count = max(2, min(config.output_tokens, max_tokens))
    last_user = next(
        (str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), ""
    )
    tokens = reply_tokens(last_user, model, count)
    usage = {
        "prompt_tokens": count_prompt_tokens(messages),
        "completion_tokens": len(tokens),
        "total_tokens": count_prompt_tokens(messages) + len(tokens),
    }
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
    if not body.get("stream"):
        await asyncio.sleep(config.first_token_ms / 1000)
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(tokens)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
            }
        )
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    return StreamingResponse(
        _stream(completion_id, model, tokens, usage, include_usage, knobs, failure),
        media_type="text/event-stream",
        headers={"x-standin": "true"},
    )


async def _stream(
    completion_id: str,
    model: str,
    tokens: list[str],
    usage: dict[str, int],
    include_usage: bool,
    knobs: Knobs,
    failure: Failure | None,
) -> AsyncIterator[str]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(data)}\n\n"

    config = knobs.config
    yield chunk({"role": "assistant", "content": ""})
    if failure is not None and failure.kind == "stall":
        await asyncio.sleep(failure.stall_seconds)
        return
    await asyncio.sleep(config.first_token_ms / 1000)
    gap = 1 / config.tokens_per_second if config.tokens_per_second > 0 else 0
    for n, token in enumerate(tokens):
        if failure is not None and failure.kind == "cut" and n >= failure.after_chunks:
            return
        yield chunk({"content": token})
        if gap:
            await asyncio.sleep(gap)
    yield chunk({}, "stop", usage=usage)
    if include_usage:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage,
        }
        yield f"data: {json.dumps(data)}\n\n"
    yield "data: [DONE]\n\n"
