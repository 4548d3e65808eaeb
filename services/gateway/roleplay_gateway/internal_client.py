"""Calls from the gateway to the services' internal HTTP APIs.

An error answered by a service in the contract's shape is passed on with its status (a 404
stays a 404); a service that does not answer becomes `503 dependency_unavailable` with
`Retry-After`, never a 500. Every call carries the service token; a service refusing it is a
misconfiguration of this deployment, so it is logged and answered as `503` too (never as the
caller's own `401`).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from roleplay_common.http import REQUEST_ID_HEADER, ApiError
from roleplay_common.logging import get_logger
from roleplay_common.service_auth import service_headers
from roleplay_common.settings import ServiceAuthSettings

log = get_logger(__name__)


class InternalClient:
    def __init__(
        self, service: str, base_url: str, auth: ServiceAuthSettings, *, timeout: float = 10.0
    ) -> None:
        self.service = service
        self.http = httpx.AsyncClient(
            base_url=base_url,
            headers=service_headers(auth),
            timeout=timeout,
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200),
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        user_id: uuid.UUID | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        correlation_id: str | None = None,
    ) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if user_id is not None:
            query["user_id"] = str(user_id)
        headers = {REQUEST_ID_HEADER: correlation_id} if correlation_id else None
        try:
            response = await self.http.request(
                method, path, params=query, json=json, headers=headers
            )
        except httpx.HTTPError as exc:
            log.warning("internal call failed", service=self.service, error=type(exc).__name__)
            raise ApiError(
                503,
                "dependency_unavailable",
                f"the {self.service} service is not available",
                headers={"Retry-After": "5"},
            ) from exc
        if response.status_code == 204:
            return None
        if response.is_success:
            return response.json()
        raise _passed_on(self.service, response)


def _passed_on(service: str, response: httpx.Response) -> ApiError:
    try:
        error = response.json()["error"]
        code, message, details = error["code"], error["message"], error.get("details") or {}
    except (ValueError, KeyError, TypeError):
        code, message, details = "dependency_error", f"the {service} service failed", {}
    status = response.status_code
    if status >= 500 or status == 401:
        log.error("internal service error", service=service, status=status, code=code)
        return ApiError(
            503,
            "dependency_unavailable",
            f"the {service} service failed",
            headers={"Retry-After": "5"},
        )
    return ApiError(status, code, message, details)
