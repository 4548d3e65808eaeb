"""OpenAI-compatible chat completions, not streamed: one request, one JSON answer.

For calls whose answer nobody watches arrive (helper features such as enhancing a scene
prompt). The answer is handed on as the streaming adapter's events (one `TextDelta`, one
`StreamEnd`), so the same routing, retry and fallback code runs it. `json_schema` asks for
OpenAI's structured outputs (`response_format` of type `json_schema`). Failures are classified
as for streams; an empty answer is retryable.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from roleplay_chat.providers.errors import ProviderError, from_status
from roleplay_chat.providers.openai_compatible import (
    ProviderSession,
    StreamEnd,
    StreamEvent,
    TextDelta,
    api_key,
)
from roleplay_common.events import ModelRoute


async def complete_whole(
    providers: ProviderSession,
    route: ModelRoute,
    messages: list[dict[str, str]],
    *,
    max_tokens: int,
    temperature: float,
    json_schema: dict[str, Any] | None = None,
) -> AsyncIterator[StreamEvent]:
    body: dict[str, Any] = {
        "model": route.model_name,
        "messages": messages,
        "stream": False,
        "max_tokens": max_tokens,
        "temperature": temperature,
    }
    if json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "strict": True, "schema": json_schema},
        }
    headers = {"Accept": "application/json"}
    if key := api_key(route):
        headers["Authorization"] = f"Bearer {key}"
    url = f"{route.base_url.rstrip('/')}/chat/completions"
    timeout = aiohttp.ClientTimeout(total=route.timeout_seconds, sock_connect=5.0)
    try:
        async with providers.session.post(
            url, json=body, headers=headers, timeout=timeout
        ) as response:
            raw = await response.read()
            if response.status >= 400:
                raise from_status(
                    response.status,
                    raw.decode(errors="replace"),
                    response.headers.get("retry-after"),
                )
    except TimeoutError as exc:
        raise ProviderError(
            "provider_timeout", "the provider did not answer in time", retryable=True
        ) from exc
    except aiohttp.ClientError as exc:
        raise ProviderError(
            "provider_unreachable",
            f"cannot reach the provider: {type(exc).__name__}",
            retryable=True,
        ) from exc
    try:
        answer = json.loads(raw)
        choice = answer["choices"][0]
        content = choice["message"].get("content") or ""
        usage = answer.get("usage") or {}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ProviderError(
            "provider_bad_answer", "the provider sent an unreadable answer", retryable=True
        ) from exc
    if not isinstance(content, str) or not content.strip():
        raise ProviderError(
            "provider_empty_answer", "the provider answered nothing", retryable=True
        )
    yield TextDelta(content)
    yield StreamEnd(
        finish_reason=choice.get("finish_reason") or "stop",
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        cost=usage.get("cost"),
    )
