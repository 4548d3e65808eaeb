"""The scene narrative: one non-streaming OpenAI-compatible chat completion."""

from __future__ import annotations

import httpx

from roleplay_common.events import ModelRoute
from roleplay_common.provider_keys import provider_key
from roleplay_scenes.providers.errors import ImageProviderError, from_status


async def write_narrative(
    client: httpx.AsyncClient, route: ModelRoute, messages: list[dict[str, str]]
) -> tuple[str, int, int]:
    """The narrative text and the tokens in/out the provider reported (0 when it did not)."""
    headers = {}
    if key := provider_key(route.api_key_env):
        headers["Authorization"] = f"Bearer {key}"
    try:
        response = await client.post(
            f"{route.base_url.rstrip('/')}/chat/completions",
            json={
                "model": route.model_name,
                "messages": messages,
                "max_tokens": 120,
                "temperature": 0.7,
            },
            headers=headers,
            timeout=route.timeout_seconds,
        )
    except httpx.HTTPError as exc:
        raise ImageProviderError(
            "narrative_failed", f"scene narrative: {type(exc).__name__}", retryable=True
        ) from exc
    if response.status_code >= 400:
        raise from_status(response.status_code, "scene narrative")
    body = response.json()
    text = str(body["choices"][0]["message"]["content"]).strip()
    usage = body.get("usage") or {}
    return text, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
