"""Request body limits (413) and per-user rate limiting (429 with `Retry-After`).

Both are plain ASGI middleware so streamed responses pass through untouched. The body limit
trusts `Content-Length` when given and counts the bytes otherwise; uploads of cards and
portraits may be larger. The rate limiter is a token bucket per verified user id (per client
address when there is no valid token), in memory: each gateway instance limits its own share.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from roleplay_common.http import error_body
from roleplay_gateway.auth import tokens
from roleplay_gateway.settings import GatewaySettings

EXEMPT = ("/healthz", "/readyz", "/metrics", "/v1/webhooks/")
UPLOADS = ("/v1/characters/import", "/portrait")


async def _reply(send: Send, status: int, code: str, message: str, headers: dict[str, str]) -> None:
    body = json.dumps(error_body(code, message)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


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
            await _reply(send, 413, "payload_too_large", f"the body exceeds {limit} bytes", {})
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
                await _reply(send, 413, "payload_too_large", f"the body exceeds {limit} bytes", {})
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)


@dataclass
class _Bucket:
    tokens: float
    updated: float = field(default_factory=time.monotonic)


class RateLimit:
    def __init__(self, app: ASGIApp, settings: GatewaySettings) -> None:
        self.app = app
        self.settings = settings
        self.rate = settings.rate_limit_per_minute / 60.0
        self.capacity = float(settings.rate_limit_burst)
        self.buckets: dict[str, _Bucket] = {}

    async def _key(self, scope: Scope) -> str:
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode(errors="ignore")
        if auth.lower().startswith("bearer "):
            try:
                subject = await tokens.verify_async(self.settings, auth[7:].strip())
                return f"user:{subject.user_id}"
            except tokens.InvalidTokenError:
                pass
        client = scope.get("client")
        return f"ip:{client[0] if client else 'unknown'}"

    def _take(self, key: str) -> float:
        """0 when allowed, else the seconds until a request would be."""
        now = time.monotonic()
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) > 100_000:
                self.buckets.clear()
            bucket = self.buckets[key] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate if self.rate > 0 else 60.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        wait = self._take(await self._key(scope))
        if wait > 0:
            await _reply(
                send,
                429,
                "rate_limited",
                "too many requests; slow down",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
            return
        await self.app(scope, receive, send)


def install_limits(app: Any, settings: GatewaySettings) -> None:
    app.add_middleware(RateLimit, settings=settings)
    app.add_middleware(
        BodyLimit, default=settings.max_body_bytes, uploads=settings.max_upload_bytes
    )
