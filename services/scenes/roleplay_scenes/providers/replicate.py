"""Replicate predictions: create, poll until `succeeded`, cancel.

`POST {base}/models/{owner}/{name}/predictions` with `{"input": {...}}`; the prediction's
`urls.get` is polled; `output` lists image URLs. The key goes as `Authorization: Bearer …`.
A prediction takes one reference `image` (the first of several) and a `seed`.
"""

from __future__ import annotations

from typing import Any

import httpx

from roleplay_common.events import ModelRoute
from roleplay_common.provider_keys import provider_key
from roleplay_scenes.providers.errors import ImageProviderError, from_status


def _headers(route: ModelRoute) -> dict[str, str]:
    key = provider_key(route.api_key_env)
    return {"Authorization": f"Bearer {key}"} if key else {}


async def _call(
    client: httpx.AsyncClient, method: str, url: str, route: ModelRoute, **kw: Any
) -> dict[str, Any]:
    try:
        response = await client.request(method, url, headers=_headers(route), timeout=30, **kw)
    except httpx.HTTPError as exc:
        raise ImageProviderError(
            "provider_unreachable", f"Replicate: {type(exc).__name__}", retryable=True
        ) from exc
    if response.status_code >= 400:
        raise from_status(response.status_code, "Replicate")
    body: dict[str, Any] = response.json()
    return body


async def create(
    client: httpx.AsyncClient, route: ModelRoute, arguments: dict[str, Any]
) -> dict[str, Any]:
    inputs: dict[str, Any] = {"prompt": arguments["prompt"]}
    reference = arguments.get("image_url") or next(iter(arguments.get("image_urls") or []), None)
    if reference:
        inputs.update(image=reference, prompt_strength=arguments.get("strength", 0.35))
    if arguments.get("seed") is not None:
        inputs["seed"] = arguments["seed"]
    url = f"{route.base_url.rstrip('/')}/models/{route.model_name}/predictions"
    return await _call(client, "POST", url, route, json={"input": inputs})


async def get(
    client: httpx.AsyncClient, route: ModelRoute, prediction: dict[str, Any]
) -> dict[str, Any]:
    return await _call(client, "GET", prediction["urls"]["get"], route)


async def cancel(client: httpx.AsyncClient, route: ModelRoute, prediction: dict[str, Any]) -> None:
    await _call(client, "POST", prediction["urls"]["cancel"], route)
