"""Calls from the gateway to the services' internal HTTP APIs.

An error answered by a service in the contract's shape is passed on with its status (a 404
stays a 404); a service that does not answer becomes `503 dependency_unavailable` with
`Retry-After`, never a 500. Every call carries the service token; a service refusing it is a
misconfiguration of this deployment, so it is logged and answered as `503` too (never as the
caller's own `401`).
"""

from __future__ import annotations

import json as json_module
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from roleplay_common.http import CLIENT_KEEPALIVE_SECONDS, REQUEST_ID_HEADER, ApiError
from roleplay_common.logging import get_logger
from roleplay_common.service_auth import service_headers
from roleplay_common.settings import ServiceAuthSettings
from roleplay_common.tracing import aiohttp_trace_configs

log = get_logger(__name__)


class InternalClient:
    """One service's internal API. aiohttp rather than httpx: a turn's start calls the chat
    service, and under a crowd httpx's pool spends more time matching requests to
    connections than the calls take."""

    def __init__(
        self, service: str, base_url: str, auth: ServiceAuthSettings, *, timeout: float = 10.0
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.headers = service_headers(auth)
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=5.0)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=1000, keepalive_timeout=CLIENT_KEEPALIVE_SECONDS
                ),
                headers=self.headers,
                timeout=self.timeout,
                trace_configs=aiohttp_trace_configs(),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

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
        query = {
            k: str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in (params or {}).items()
            if v is not None
        }
        if user_id is not None:
            query["user_id"] = str(user_id)
        headers = {REQUEST_ID_HEADER: correlation_id} if correlation_id else None
        try:
            async with self._open().request(
                method, self.base_url + path, params=query, json=json, headers=headers
            ) as response:
                status = response.status
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("internal call failed", service=self.service, error=type(exc).__name__)
            raise ApiError(
                503,
                "dependency_unavailable",
                f"the {self.service} service is not available",
                headers={"Retry-After": "5"},
            ) from exc
        if status == 204:
            return None
        if 200 <= status < 300:
            return json_module.loads(body) if body else None
        raise _passed_on(self.service, status, body)

    @asynccontextmanager
    async def stream(
        self, path: str, *, json: Any, idle_timeout: float = 60.0
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """POST and read the answer as it arrives (no overall deadline; `idle_timeout` between
        pieces). An error answer is raised before anything is read, like `call`."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=idle_timeout)
        try:
            async with self._open().post(
                self.base_url + path, json=json, timeout=timeout
            ) as response:
                if response.status >= 300:
                    raise _passed_on(self.service, response.status, await response.read())
                yield response.content.iter_any()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("internal stream failed", service=self.service, error=type(exc).__name__)
            raise ApiError(
                503,
                "dependency_unavailable",
                f"the {self.service} service is not available",
                headers={"Retry-After": "5"},
            ) from exc


def _passed_on(service: str, status: int, body: bytes) -> ApiError:
    try:
        error = json_module.loads(body)["error"]
        code, message, details = error["code"], error["message"], error.get("details") or {}
    except (ValueError, KeyError, TypeError):
        code, message, details = "dependency_error", f"the {service} service failed", {}
    if status >= 500 or status == 401:
        log.error("internal service error", service=service, status=status, code=code)
        return ApiError(
            503,
            "dependency_unavailable",
            f"the {service} service failed",
            headers={"Retry-After": "5"},
        )
    return ApiError(status, code, message, details)
