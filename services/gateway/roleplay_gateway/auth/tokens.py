"""JWTs: ours (HS256) and an external identity provider's (HS256 secret or a JWKS URL).

Whichever signed it, `sub` is the user id. Every token must carry `sub` and `exp`. Keys from a
JWKS URL are fetched (and cached) by PyJWT's blocking client, so `verify_async` runs that case
in a worker thread; HS256 checks are cheap and run inline.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import jwt

from roleplay_gateway.settings import GatewaySettings

ISSUER = "roleplay-gateway"
_REQUIRED = ["sub", "exp"]


class InvalidTokenError(Exception):
    pass


class IssuerUnreachableError(InvalidTokenError):
    """The external provider's JWKS could not be fetched: a 503, not the caller's fault."""


@dataclass(frozen=True)
class TokenSubject:
    """Who a valid token speaks for; `email`/`username` only from external tokens."""

    user_id: uuid.UUID
    external: bool
    email: str | None = None
    username: str | None = None


def issue(settings: GatewaySettings, user_id: uuid.UUID, roles: list[str]) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "roles": roles,
        "iss": ISSUER,
        "iat": now,
        "exp": now + timedelta(minutes=settings.jwt_ttl_minutes),
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def verify(settings: GatewaySettings, token: str) -> TokenSubject:
    """The subject of a valid token (raises `InvalidTokenError` otherwise). May block on JWKS."""
    header, unverified = _peek(token)
    external = unverified.get("iss") != ISSUER
    try:
        if not external:
            claims = jwt.decode(
                token,
                settings.jwt_secret.get_secret_value(),
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": _REQUIRED},
            )
        elif header.get("alg") == "HS256" and settings.external_jwt_secret is not None:
            claims = jwt.decode(
                token,
                settings.external_jwt_secret.get_secret_value(),
                algorithms=["HS256"],
                **_expectations(settings),
            )
        elif settings.external_jwks_url and header.get("alg") != "HS256":
            key = _jwks(settings.external_jwks_url).get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token, key.key, algorithms=["RS256", "ES256"], **_expectations(settings)
            )
        else:
            raise InvalidTokenError("no trusted issuer for this token")
        user_id = uuid.UUID(str(claims["sub"]))
    except jwt.PyJWKClientConnectionError as exc:
        raise IssuerUnreachableError("the identity provider's keys cannot be fetched") from exc
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise InvalidTokenError("invalid token") from exc
    if not external:
        return TokenSubject(user_id, external=False)
    return TokenSubject(user_id, True, _text(claims.get("email")), _username(claims))


VERIFIED = "verified_token"
"""Where the first check of a request's token leaves `(token, subject)` in the ASGI scope's
state, so the rate limiter and the route's `current_user` verify a token once, not twice."""


def remember_verified(scope: Any, token: str, subject: TokenSubject) -> None:
    scope.setdefault("state", {})[VERIFIED] = (token, subject)


def verified_before(scope: Any, token: str) -> TokenSubject | None:
    """The subject an earlier check of this same request found for `token`."""
    found = scope.get("state", {}).get(VERIFIED)
    if found is not None and found[0] == token:
        subject: TokenSubject = found[1]
        return subject
    return None


async def verify_async(settings: GatewaySettings, token: str) -> TokenSubject:
    """`verify`, off the event loop when the key may have to be fetched from a JWKS URL."""
    if settings.external_jwks_url:
        header, _ = _peek(token)
        if header.get("alg") != "HS256":
            return await asyncio.to_thread(verify, settings, token)
    return verify(settings, token)


def decode(settings: GatewaySettings, token: str) -> tuple[uuid.UUID, bool]:
    """The user id in a valid token, and whether an external provider issued it."""
    subject = verify(settings, token)
    return subject.user_id, subject.external


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise InvalidTokenError("malformed token") from exc
    return header, unverified


def _expectations(settings: GatewaySettings) -> dict[str, Any]:
    options: dict[str, Any] = {"require": _REQUIRED}
    expectations: dict[str, Any] = {"options": options}
    if settings.external_jwt_audience:
        expectations["audience"] = settings.external_jwt_audience
    else:
        options["verify_aud"] = False
    if settings.external_jwt_issuer:
        expectations["issuer"] = settings.external_jwt_issuer
    return expectations


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _username(claims: dict[str, Any]) -> str | None:
    """A display name from the claims an identity provider commonly sets (Supabase: metadata)."""
    metadata = claims.get("user_metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    for value in (
        claims.get("preferred_username"),
        metadata.get("username"),
        metadata.get("full_name"),
        claims.get("name"),
    ):
        if text := _text(value):
            return text[:64]
    return None


@cache
def _jwks(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=600, timeout=5)
