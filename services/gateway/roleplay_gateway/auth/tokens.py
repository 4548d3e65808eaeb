"""JWTs: ours (HS256) and an external identity provider's (HS256 secret or a JWKS URL).

Whichever signed it, `sub` is the user id.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import jwt

from roleplay_gateway.settings import GatewaySettings

ISSUER = "roleplay-gateway"


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


class InvalidTokenError(Exception):
    pass


def decode(settings: GatewaySettings, token: str) -> tuple[uuid.UUID, bool]:
    """The user id in a valid token, and whether an external provider issued it."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise InvalidTokenError("malformed token") from exc
    claims: dict[str, Any]
    external = unverified.get("iss") != ISSUER
    try:
        if not external:
            claims = jwt.decode(
                token, settings.jwt_secret.get_secret_value(), algorithms=["HS256"], issuer=ISSUER
            )
        elif header.get("alg") == "HS256" and settings.external_jwt_secret is not None:
            claims = jwt.decode(
                token,
                settings.external_jwt_secret.get_secret_value(),
                algorithms=["HS256"],
                **_expectations(settings),
            )
        elif settings.external_jwks_url:
            key = _jwks(settings.external_jwks_url).get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token, key.key, algorithms=["RS256", "ES256"], **_expectations(settings)
            )
        else:
            raise InvalidTokenError("no trusted issuer for this token")
        return uuid.UUID(str(claims["sub"])), external
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise InvalidTokenError("invalid token") from exc


def _expectations(settings: GatewaySettings) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if settings.external_jwt_audience:
        options["audience"] = settings.external_jwt_audience
    else:
        options["options"] = {"verify_aud": False}
    if settings.external_jwt_issuer:
        options["issuer"] = settings.external_jwt_issuer
    return options


@cache
def _jwks(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=600)
