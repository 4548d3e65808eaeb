"""Request body limits (413) and per-caller rate limiting (429 with `Retry-After`).

Both are plain ASGI middleware so streamed responses pass through untouched. The body limit
trusts `Content-Length` when given and counts the bytes otherwise; uploads of cards and
portraits may be larger. The rate limit is per verified user id (per client address when there
is no valid token), shared by every gateway instance through PostgreSQL: one statement per
request (`limits_store`). When the database cannot answer, requests are let through rather
than failed: the limit protects capacity, and the routes report the database themselves.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from roleplay_common.http import send_error
from roleplay_common.logging import get_logger
from roleplay_gateway.auth import tokens
from roleplay_gateway.limits_store import UNAVAILABLE, Rate, SharedLimits, retry_after
from roleplay_gateway.settings import GatewaySettings
from roleplay_gateway.turns.admission import TurnStartGate

log = get_logger(__name__)

EXEMPT = ("/healthz", "/readyz", "/metrics", "/v1/webhooks/")
UPLOADS = ("/v1/characters/import", "/portrait", "/v1/conversations/import")


class BodyLimit:
    def __init__(self, app: ASGIApp, *, default: int, uploads: int) -> None:
        self.app = app
        self.default = default
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.uploads if any(path.endswith(u) for u in UPLOADS) else self.default
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_error(send, 413, "payload_too_large", f"the body exceeds {limit} bytes")
            return
        if declared is not None or scope.get("method") in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        # No length declared (chunked): read the body up to the limit before the app runs.
        buffered: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > limit:
                await send_error(send, 413, "payload_too_large", f"the body exceeds {limit} bytes")
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)


class RateLimit:
    def __init__(self, app: ASGIApp, settings: GatewaySettings, limits: SharedLimits) -> None:
        self.app = app
        self.settings = settings
        self.limits = limits
        self.rate = Rate(settings.rate_limit_per_minute, settings.rate_limit_burst)

    async def _key(self, scope: Scope) -> str:
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode(errors="ignore")
        if auth.lower().startswith("bearer "):
            try:
                token = auth[7:].strip()
                subject = await tokens.verify_async(self.settings, token)
                tokens.remember_verified(scope, token, subject)
                return f"user:{subject.user_id}"
            except tokens.InvalidTokenError:
                pass
        client = scope.get("client")
        return f"ip:{client[0] if client else 'unknown'}"

    async def _wait(self, key: str) -> float:
        try:
            return await self.limits.take(key, self.rate)
        except UNAVAILABLE as exc:
            log.warning("rate limit not checked", error=type(exc).__name__)
            return 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        wait = await self._wait(await self._key(scope))
        if wait > 0:
            await send_error(
                send,
                429,
                "rate_limited",
                "too many requests; slow down",
                {"Retry-After": retry_after(wait)},
            )
            return
        await self.app(scope, receive, send)


def install_limits(app: Any, settings: GatewaySettings, limits: SharedLimits) -> None:
    """From the outside in: the body limit, the turn-start gate (a turn start waits in line
    with its body read, so its rate-limit statement waits in line too), the rate limit."""
    app.add_middleware(RateLimit, settings=settings, limits=limits)
    app.add_middleware(TurnStartGate, concurrency=settings.turn_start_concurrency)
    app.add_middleware(
        BodyLimit, default=settings.max_body_bytes, uploads=settings.max_upload_bytes
    )
