"""The fal.ai queue protocol: submit, poll status, fetch the result, cancel.

`POST {base}/{model}` → `{request_id, status_url, response_url, cancel_url}`; the status goes
`IN_QUEUE` → `IN_PROGRESS` → `COMPLETED`; the result lists image URLs. Reference images for
i2i are passed as `image_url` with a `strength`. The key is sent as `Authorization: Key …`,
read from the environment variable the provider names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from roleplay_common.events import ModelRoute
from roleplay_common.provider_keys import provider_key
from roleplay_scenes.providers.errors import ImageProviderError, from_status


@dataclass(frozen=True)
class Submitted:
    request_id: str
    status_url: str
    response_url: str
    cancel_url: str


def _headers(route: ModelRoute) -> dict[str, str]:
    key = provider_key(route.api_key_env)
    return {"Authorization": f"Key {key}"} if key else {}


async def _request(
    client: httpx.AsyncClient, method: str, url: str, route: ModelRoute, **kw: Any
) -> httpx.Response:
    try:
        response = await client.request(method, url, headers=_headers(route), timeout=30, **kw)
    except httpx.TimeoutException as exc:
        raise ImageProviderError(
            "provider_timeout", "the image provider timed out", retryable=True
        ) from exc
    except httpx.HTTPError as exc:
        raise ImageProviderError(
            "provider_unreachable",
            f"cannot reach the image provider: {type(exc).__name__}",
            retryable=True,
        ) from exc
    return response


async def submit(
    client: httpx.AsyncClient,
    route: ModelRoute,
    arguments: dict[str, Any],
    webhook: str | None = None,
) -> Submitted:
    url = f"{route.base_url.rstrip('/')}/{route.model_name}"
    params = {"fal_webhook": webhook} if webhook else None
    response = await _request(client, "POST", url, route, json=arguments, params=params)
    if response.status_code >= 400:
        raise from_status(response.status_code, "submit")
    body = response.json()
    return Submitted(
        body["request_id"], body["status_url"], body["response_url"], body["cancel_url"]
    )


async def status(client: httpx.AsyncClient, route: ModelRoute, job: Submitted) -> str:
    response = await _request(client, "GET", job.status_url, route)
    if response.status_code >= 400:
        raise from_status(response.status_code, "status")
    return str(response.json()["status"])


async def result(client: httpx.AsyncClient, route: ModelRoute, job: Submitted) -> dict[str, Any]:
    response = await _request(client, "GET", job.response_url, route)
    if response.status_code >= 400:
        raise from_status(response.status_code, "result")
    body: dict[str, Any] = response.json()
    if not body.get("images"):
        raise ImageProviderError(
            "provider_empty_result", "the provider returned no image", retryable=True
        )
    return body


async def cancel(client: httpx.AsyncClient, route: ModelRoute, job: Submitted) -> None:
    await _request(client, "PUT", job.cancel_url, route)


async def download(client: httpx.AsyncClient, url: str) -> tuple[bytes, str]:
    try:
        response = await client.get(url, timeout=60)
    except httpx.HTTPError as exc:
        raise ImageProviderError(
            "image_download_failed", "cannot download the image", retryable=True
        ) from exc
    if response.status_code >= 400:
        raise from_status(response.status_code, "download")
    return response.content, response.headers.get("content-type", "image/png")
