"""Our tokens and an external provider's: HS256 with a shared secret, or RS256 from a JWKS."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from roleplay_gateway.auth import tokens
from roleplay_gateway.settings import GatewaySettings
from tests.support.servers import free_port, serve

SECRET = "external-shared-secret-external-shared-secret"


def settings(**values: Any) -> GatewaySettings:
    return GatewaySettings(**values)


def test_our_tokens_carry_the_user_and_expire() -> None:
    ours = settings()
    user_id = uuid.uuid4()
    subject = tokens.verify(ours, tokens.issue(ours, user_id, ["basic_user"]))
    assert subject == tokens.TokenSubject(user_id, external=False)
    expired = settings(jwt_ttl_minutes=-1)
    with pytest.raises(tokens.InvalidTokenError):
        tokens.verify(ours, tokens.issue(expired, user_id, []))
    other = settings(jwt_secret="another-secret-another-secret-another")
    with pytest.raises(tokens.InvalidTokenError):
        tokens.verify(other, tokens.issue(ours, user_id, []))


def test_external_hs256_tokens_need_the_secret_audience_and_issuer() -> None:
    strict = settings(
        external_jwt_secret=SECRET,
        external_jwt_audience="authenticated",
        external_jwt_issuer="https://auth.example/auth/v1",
    )
    user_id = uuid.uuid4()
    claims = {
        "sub": str(user_id),
        "aud": "authenticated",
        "iss": "https://auth.example/auth/v1",
        "exp": int(time.time()) + 60,
        "email": "sky@example.com",
        "user_metadata": {"full_name": "Sky Walker"},
    }
    subject = tokens.verify(strict, jwt.encode(claims, SECRET, algorithm="HS256"))
    assert subject == tokens.TokenSubject(user_id, True, "sky@example.com", "Sky Walker")
    assert tokens.decode(strict, jwt.encode(claims, SECRET, algorithm="HS256")) == (user_id, True)
    for changed in ({"aud": "anon"}, {"iss": "https://evil.example"}, {"exp": 1}):
        with pytest.raises(tokens.InvalidTokenError):
            tokens.verify(strict, jwt.encode({**claims, **changed}, SECRET, algorithm="HS256"))
    without_exp = {k: v for k, v in claims.items() if k != "exp"}
    with pytest.raises(tokens.InvalidTokenError):
        tokens.verify(strict, jwt.encode(without_exp, SECRET, algorithm="HS256"))
    # Without an external issuer configured, no external token is trusted.
    with pytest.raises(tokens.InvalidTokenError):
        tokens.verify(settings(), jwt.encode(claims, SECRET, algorithm="HS256"))


def test_alg_none_and_garbage_are_refused() -> None:
    trusting = settings(external_jwt_secret=SECRET)
    claims = {"sub": str(uuid.uuid4()), "exp": int(time.time()) + 60}
    unsigned = jwt.encode(claims, None, "none")  # type: ignore[arg-type]
    for token in (unsigned, "", "a.b.c", "not a token"):
        with pytest.raises(tokens.InvalidTokenError):
            tokens.verify(trusting, token)


async def test_external_rs256_tokens_are_checked_against_the_jwks() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwks = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}

    async def keys(_request: Request) -> JSONResponse:
        return JSONResponse(jwks)

    port = free_port()
    async with serve(Starlette(routes=[Route("/jwks.json", keys)]), port) as url:
        trusting = settings(external_jwks_url=f"{url}/jwks.json")
        user_id = uuid.uuid4()
        claims = {"sub": str(user_id), "exp": int(time.time()) + 60, "iss": "https://idp"}
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        subject = await tokens.verify_async(trusting, token)
        assert subject.user_id == user_id and subject.external

        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "k1"})
        with pytest.raises(tokens.InvalidTokenError):
            await tokens.verify_async(trusting, forged)
        # An HS256 token signed with the public key (algorithm confusion) is refused.
        confused = jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": "k1"})
        with pytest.raises(tokens.InvalidTokenError):
            await tokens.verify_async(trusting, confused)

    unreachable = settings(external_jwks_url=f"http://127.0.0.1:{free_port()}/jwks.json")
    with pytest.raises(tokens.IssuerUnreachableError):
        await tokens.verify_async(unreachable, token)


def test_a_token_verified_once_in_a_request_is_not_verified_again() -> None:
    ours = settings()
    token = tokens.issue(ours, uuid.uuid4(), ["basic_user"])
    scope: dict[str, Any] = {}
    subject = tokens.verify(ours, token)
    tokens.remember_verified(scope, token, subject)
    assert tokens.verified_before(scope, token) == subject
    assert tokens.verified_before(scope, token + "x") is None
    assert tokens.verified_before({}, token) is None
