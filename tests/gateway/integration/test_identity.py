"""Registration, login, the profile, and tokens: ours and an external identity provider's."""

from __future__ import annotations

import asyncio
import time
import uuid

import jwt
import sqlalchemy as sa
from sqlmodel import col

from roleplay_gateway.auth import tokens
from roleplay_gateway.auth.store import User
from tests.gateway.conftest import (
    Caller,
    Gateway,
    NewCaller,
    assert_error,
    external_token,
)


async def test_register_login_and_the_profile(gateway: Gateway) -> None:
    email = f"{uuid.uuid4().hex[:8]}@Example.com"
    registered = await gateway.client.post(
        "/v1/auth/register", json={"email": email, "password": "long enough", "username": "Ana"}
    )
    assert registered.status_code == 201, registered.text
    body = registered.json()
    assert body["token_type"] == "bearer" and body["access_token"]
    user = body["user"]
    assert user["email"] == email and user["username"] == "Ana"
    assert user["roles"] == ["basic_user"]
    assert user["age_verified"] is False and user["default_persona_id"] is None
    assert "token_balance" in user and "password" not in registered.text

    login = await gateway.client.post(
        "/v1/auth/login", json={"email": email.lower(), "password": "long enough"}
    )
    assert login.status_code == 200, login.text
    assert login.json()["user"]["id"] == user["id"]
    me = await gateway.client.get(
        "/v1/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.json() == {**user, "token_balance": me.json()["token_balance"]}

    async with gateway.runtime.db.transaction() as session:
        stored = await session.scalar(sa.select(User).where(col(User.id) == uuid.UUID(user["id"])))
    assert stored is not None and stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$")


async def test_wrong_passwords_unknown_emails_and_taken_emails(gateway: Gateway) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": "long enough", "username": "x"}
    assert (await gateway.client.post("/v1/auth/register", json=body)).status_code == 201
    assert_error(await gateway.client.post("/v1/auth/register", json=body), 409, "email_taken")
    assert_error(
        await gateway.client.post("/v1/auth/register", json={**body, "email": email.upper()}),
        409,
        "email_taken",
    )
    for attempt in (
        {"email": email, "password": "wrong password"},
        {"email": f"nobody-{email}", "password": "long enough"},
    ):
        assert_error(
            await gateway.client.post("/v1/auth/login", json=attempt), 401, "invalid_credentials"
        )


async def test_register_and_login_validate_their_input(gateway: Gateway) -> None:
    good = {"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": "long enough"}
    for bad in (
        {**good, "username": "x", "email": "not-an-email"},
        {**good, "username": "x", "password": "short"},
        {**good, "username": ""},
        {**good},
        {"email": good["email"], "password": 12345678, "username": "x"},
    ):
        assert_error(
            await gateway.client.post("/v1/auth/register", json=bad), 422, "validation_error"
        )
    assert_error(await gateway.client.post("/v1/auth/login", json={}), 422)
    assert_error(
        await gateway.client.post(
            "/v1/auth/login", content=b"{nope", headers={"content-type": "application/json"}
        ),
        422,
    )


async def test_every_v1_route_needs_a_valid_token(gateway: Gateway) -> None:
    expired = jwt.encode(
        {"sub": str(uuid.uuid4()), "iss": tokens.ISSUER, "exp": int(time.time()) - 10},
        gateway.settings.jwt_secret.get_secret_value(),
        algorithm="HS256",
    )
    forged = jwt.encode(
        {"sub": str(uuid.uuid4()), "iss": tokens.ISSUER, "exp": int(time.time()) + 60},
        "someone-elses-secret-someone-elses-secret",
        algorithm="HS256",
    )
    unknown_user = tokens.issue(gateway.settings, uuid.uuid4(), ["admin"])
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": f"Bearer {unknown_user}"},
    ):
        for path in ("/v1/me", "/v1/characters", "/v1/models", "/v1/scene-templates"):
            response = await gateway.client.get(path, headers=headers)
            assert_error(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_the_profile_can_be_changed(new_user: NewCaller) -> None:
    user: Caller = await new_user()
    other: Caller = await new_user()
    persona = (
        await user.post("/v1/characters", json={"name": "Me, in a hat", "role": "user"})
    ).json()
    changed = await user.patch(
        "/v1/me",
        json={"username": "Renamed", "age_verified": True, "default_persona_id": persona["id"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["username"] == "Renamed"
    assert changed.json()["age_verified"] is True
    assert changed.json()["default_persona_id"] == persona["id"]
    assert (await user.get("/v1/me")).json() == changed.json()

    # Someone else's private persona, an AI character, or nothing at all: not found.
    theirs = (await other.post("/v1/characters", json={"name": "Theirs", "role": "user"})).json()
    ai = (await user.post("/v1/characters", json={"name": "An AI", "role": "ai"})).json()
    for persona_id in (theirs["id"], ai["id"], str(uuid.uuid4())):
        assert_error(await user.patch("/v1/me", json={"default_persona_id": persona_id}), 404)
    assert_error(await user.patch("/v1/me", json={"username": ""}), 422)
    assert_error(await user.patch("/v1/me", json={"age_verified": "maybe"}), 422)
    assert_error(await user.patch("/v1/me", json={"default_persona_id": "nope"}), 422)

    cleared = await user.patch("/v1/me", json={"default_persona_id": None})
    assert cleared.json()["default_persona_id"] is None
    assert cleared.json()["username"] == "Renamed"


async def test_an_external_providers_user_gets_an_account_on_first_sight(
    gateway: Gateway,
) -> None:
    user_id = uuid.uuid4()
    email = f"{user_id.hex[:8]}@supabase.example"
    token = external_token(user_id, email=email, user_metadata={"username": "Sky"})
    # Several first requests at once: one account, no error.
    answers = await asyncio.gather(
        *(
            gateway.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
            for _ in range(5)
        )
    )
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    me = answers[0].json()
    assert me["id"] == str(user_id) and me["email"] == email and me["username"] == "Sky"
    assert me["roles"] == ["basic_user"]

    # The external user works like any other: creates, reads, is the owner.
    headers = {"Authorization": f"Bearer {token}"}
    created = await gateway.client.post("/v1/characters", json={"name": "Ext"}, headers=headers)
    assert created.status_code == 201 and created.json()["owner_id"] == str(user_id)

    async with gateway.runtime.db.transaction() as session:
        stored = await session.get(User, user_id)
    assert stored is not None and stored.external and stored.password_hash is None


async def test_an_external_token_with_a_taken_email_gets_a_placeholder(
    gateway: Gateway, new_user: NewCaller
) -> None:
    local: Caller = await new_user()
    user_id = uuid.uuid4()
    token = external_token(user_id, email=local.email)
    me = await gateway.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(user_id) and me.json()["email"] != local.email


async def test_external_tokens_are_checked(gateway: Gateway) -> None:
    user_id = uuid.uuid4()
    for token in (
        external_token(user_id, secret="not-the-providers-secret-not-the-providers"),
        external_token(user_id, aud="someone-else"),
        external_token(user_id, ttl=-30),
        external_token(user_id, ttl=None),
        external_token(user_id, sub=None),
        external_token(user_id, sub="not-a-uuid"),
    ):
        assert_error(
            await gateway.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}), 401
        )
    async with gateway.runtime.db.transaction() as session:
        assert await session.get(User, user_id) is None


async def test_the_openapi_document_describes_these_routes(gateway: Gateway) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    paths = document["paths"]
    for path, methods in {
        "/v1/auth/register": {"post"},
        "/v1/auth/login": {"post"},
        "/v1/me": {"get", "patch"},
        "/v1/characters": {"get", "post"},
        "/v1/characters/import": {"post"},
        "/v1/characters/{character_id}": {"get", "patch", "delete"},
        "/v1/characters/{character_id}/export": {"get"},
        "/v1/characters/{character_id}/portrait": {"post", "get"},
        "/v1/scene-templates": {"get", "post"},
        "/v1/scene-templates/{template_id}": {"get", "patch", "delete"},
        "/v1/models": {"get"},
        "/v1/admin/providers": {"get", "post"},
        "/v1/admin/providers/{provider_id}": {"patch", "delete"},
        "/v1/admin/models": {"get", "post"},
        "/v1/admin/models/{model_id}": {"patch", "delete"},
        "/v1/admin/prompt-templates": {"get", "post"},
        "/v1/admin/prompt-templates/{template_id}": {"patch", "delete"},
        "/v1/admin/workers": {"get"},
    }.items():
        assert methods <= set(paths[path]), path


async def test_the_admin_password_follows_the_configuration(gateway: Gateway) -> None:
    """A changed `GATEWAY_ADMIN_PASSWORD` replaces the stored one on the next start; the
    repository's old default never logs in."""
    from roleplay_gateway.auth.service import ensure_admin

    settings = gateway.settings
    login = {"email": settings.admin_email}
    refused = await gateway.client.post(
        "/v1/auth/login", json={**login, "password": "admin-password"}
    )
    assert refused.status_code == 401
    async with gateway.runtime.db.transaction() as session:
        await ensure_admin(session, settings.admin_email, "a-new-admin-password-1234")
    new = await gateway.client.post(
        "/v1/auth/login", json={**login, "password": "a-new-admin-password-1234"}
    )
    assert new.status_code == 200
    old = await gateway.client.post(
        "/v1/auth/login",
        json={**login, "password": settings.admin_password.get_secret_value()},
    )
    assert old.status_code == 401
    async with gateway.runtime.db.transaction() as session:
        await ensure_admin(
            session, settings.admin_email, settings.admin_password.get_secret_value()
        )
