"""OpenAI-compatible image generation: one `POST {base}/images/generations` (or `/edits` with
a reference image — the first of several; the API takes no seed), answered with base64
image data."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import httpx

from roleplay_common.events import ModelRoute
from roleplay_common.provider_keys import provider_key
from roleplay_scenes.providers.errors import ImageProviderError, from_status


async def generate(
    client: httpx.AsyncClient, route: ModelRoute, arguments: dict[str, Any]
) -> bytes:
    headers = {}
    if key := provider_key(route.api_key_env):
        headers["Authorization"] = f"Bearer {key}"
    body: dict[str, Any] = {
        "model": route.model_name,
        "prompt": arguments["prompt"],
        "n": 1,
        "response_format": "b64_json",
    }
    path = "images/generations"
    reference = arguments.get("image_url") or next(iter(arguments.get("image_urls") or []), None)
    if reference:
        body["image"] = reference
        path = "images/edits"
    try:
        response = await client.post(
            f"{route.base_url.rstrip('/')}/{path}",
            json=body,
            headers=headers,
            timeout=route.timeout_seconds,
        )
    except httpx.HTTPError as exc:
        raise ImageProviderError(
            "provider_unreachable", f"images API: {type(exc).__name__}", retryable=True
        ) from exc
    if response.status_code >= 400:
        raise from_status(response.status_code, "images API")
    try:
        return base64.b64decode(response.json()["data"][0]["b64_json"])
    except (KeyError, IndexError, ValueError, binascii.Error) as exc:
        raise ImageProviderError(
            "provider_bad_result", "the images API answered no image", retryable=True
        ) from exc
