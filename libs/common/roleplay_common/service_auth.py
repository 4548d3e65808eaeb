"""Service-to-service authentication: one shared token, rotated by configuration.

Every internal caller sends `Authorization: Bearer <ROLEPLAY_SERVICE_TOKEN>`
(`service_headers`); every service checks it with `ServiceTokenGuard` before a request reaches
a guarded route, so a route added later is guarded too. A missing or wrong token is a `401` in
the contract's error shape. Tokens listed in `ROLEPLAY_SERVICE_TOKEN_PREVIOUS` are accepted as
well, so a new token can be rolled out before the old one is withdrawn.

What is guarded: on an internal service everything but `/healthz` and `/readyz`; on the public
gateway its operator routes (`/metrics`, `/asyncapi`) and anything under `/internal/`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from roleplay_common.http import send_error
from roleplay_common.settings import ServiceAuthSettings

OPEN_PATHS = frozenset({"/healthz", "/readyz"})
OPERATOR_PATHS = frozenset({"/metrics", "/asyncapi"})


def service_headers(settings: ServiceAuthSettings) -> dict[str, str]:
    """The headers an internal caller sends."""
    return {"Authorization": f"Bearer {settings.token.get_secret_value()}"}


def internal_service_guards(path: str) -> bool:
    return path not in OPEN_PATHS


def public_service_guards(path: str) -> bool:
    return path in OPERATOR_PATHS or path.startswith("/internal/")


class ServiceTokenGuard:
    """Plain ASGI: a guarded path needs one of the accepted service tokens."""

    def __init__(
        self, app: ASGIApp, *, settings: ServiceAuthSettings, guards: Callable[[str], bool]
    ) -> None:
        self.app = app
        self.accepted = [token.encode() for token in settings.accepted() if token]
        self.guards = guards

    def admits(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        presented = token.strip().encode()
        # Compare with every accepted token, so the time taken does not tell which matched.
        matches = [hmac.compare_digest(presented, accepted) for accepted in self.accepted]
        return any(matches)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.guards(scope["path"]):
            await self.app(scope, receive, send)
            return
        if not self.admits(Headers(scope=scope).get("authorization", "")):
            await send_error(
                send,
                401,
                "invalid_service_token",
                "this route needs the service token",
                {"WWW-Authenticate": "Bearer"},
            )
            return
        await self.app(scope, receive, send)
