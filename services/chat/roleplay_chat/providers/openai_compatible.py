"""OpenAI-compatible chat completions with SSE streaming.

Works with OpenRouter, vLLM, Ollama, llama.cpp server, LM Studio and the stand-in: POST
`{base_url}/chat/completions` with `stream: true`, read `data:` lines until `[DONE]`. Usage
comes from the last chunk(s) (`stream_options.include_usage`, or a `usage` field on the final
chunk as OpenRouter sends it); when a server sends none it is estimated by the caller.

Timeouts: `first_token_timeout` bounds the wait for the first content; `idle_timeout` bounds
every later gap. A stream that ends without `[DONE]` or a finish reason is a cut-off.
The API key is read from the environment variable the provider row names and is never logged.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from roleplay_chat.providers.errors import ProviderError, from_status
from roleplay_common.events import ModelRoute
from roleplay_common.http import CLIENT_KEEPALIVE_SECONDS
from roleplay_common.provider_keys import provider_key
from roleplay_common.tracing import aiohttp_trace_configs

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class StreamEnd:
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None = None


StreamEvent = TextDelta | StreamEnd


def api_key(route: ModelRoute) -> str | None:
    return provider_key(route.api_key_env)


class ProviderSession:
    """The HTTP session of provider streams, opened when the service starts.

    aiohttp parses HTTP and chunked bodies in C; on a reply of a few hundred small chunks
    that is most of the cost of reading it. Connections are reused across turns.
    """

    def __init__(self, max_connections: int) -> None:
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.max_connections, keepalive_timeout=CLIENT_KEEPALIVE_SECONDS
                ),
                json_serialize=_dumps,
                trace_configs=aiohttp_trace_configs(),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def stream_chat(
    providers: ProviderSession,
    route: ModelRoute,
    messages: list[dict[str, str]],
    *,
    max_tokens: int,
    temperature: float,
    top_p: float | None = None,
    stop: list[str] | None = None,
    first_token_timeout: float,
    idle_timeout: float,
) -> AsyncIterator[StreamEvent]:
    body: dict[str, Any] = {
        "model": route.model_name,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": max_tokens,
        "temperature": temperature,
    }
    if top_p is not None:
        body["top_p"] = top_p
    if stop:
        body["stop"] = stop
    headers = {"Accept": "text/event-stream"}
    if key := api_key(route):
        headers["Authorization"] = f"Bearer {key}"
    url = f"{route.base_url.rstrip('/')}/chat/completions"
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=idle_timeout)
    started = False

    try:
        async with asyncio.timeout(first_token_timeout) as first_deadline:
            async with providers.session.post(
                url, json=body, headers=headers, timeout=timeout
            ) as response:
                if response.status >= 400:
                    text = (await response.read()).decode(errors="replace")
                    raise from_status(response.status, text, response.headers.get("retry-after"))
                async for event in _read_events(response, first_deadline):
                    started = started or isinstance(event, TextDelta)
                    yield event
    except TimeoutError as exc:  # the first-token deadline, or a read stalled past idle_timeout
        message = (
            "the provider stalled mid-stream" if started else "the provider did not answer in time"
        )
        raise ProviderError("provider_timeout", message, retryable=True) from exc
    except aiohttp.ClientError as exc:
        raise ProviderError(
            "provider_unreachable",
            f"cannot reach the provider: {type(exc).__name__}",
            retryable=True,
        ) from exc


async def _read_events(
    response: aiohttp.ClientResponse, first_deadline: asyncio.Timeout
) -> AsyncIterator[StreamEvent]:
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    started = False
    async for raw in response.content:
        if not raw.startswith(b"data:"):
            continue
        data = raw[5:].strip()
        if data == b"[DONE]":
            yield _end(finish_reason or "stop", usage)
            return
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise ProviderError(
                "provider_bad_stream", "the provider sent an unreadable chunk", retryable=True
            ) from exc
        if not isinstance(chunk, dict):
            raise ProviderError(
                "provider_bad_stream", "the provider sent an unreadable chunk", retryable=True
            )
        if "error" in chunk:
            err = chunk["error"]
            message = err.get("message", "error") if isinstance(err, dict) else str(err)
            raise ProviderError("provider_stream_error", str(message)[:300], retryable=True)
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                if not started:
                    started = True
                    first_deadline.reschedule(None)
                yield TextDelta(text)
            if choice.get("finish_reason"):
                finish_reason = choice["finish_reason"]
    if finish_reason is not None:
        yield _end(finish_reason, usage)
        return
    raise ProviderError(
        "provider_stream_cut", "the provider closed the stream before it ended", retryable=True
    )


def _end(finish_reason: str, usage: dict[str, Any] | None) -> StreamEnd:
    usage = usage or {}
    return StreamEnd(
        finish_reason=finish_reason,
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        cost=usage.get("cost"),
    )
