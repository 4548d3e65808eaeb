"""Who may see what, and bad input: always the contract's 4xx error shape, never a 500."""

from __future__ import annotations

import base64
import io
import json
import re
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from PIL import Image, PngImagePlugin

from roleplay_gateway.catalog.seed import DEMO_CHARACTER_ID
from tests.e2e.conftest import Stack, User
from tests.support.services import as_a_service


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "details"}
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error


CARD_V2 = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Quill",
        "description": "A talking pen.",
        "personality": "pedantic",
        "scenario": "{{user}} opens a drawer.",
        "first_mes": "Finally, someone with handwriting to fix.",
        "mes_example": "Quill: That's not how you spell it.",
        "alternate_greetings": ["Ink first, questions later."],
        "tags": ["stationery"],
        "extensions": {"roleplay": {"appearance_tags": ["silver nib"]}},
    },
}


async def test_another_users_things_are_404(stack: Stack, new_user: Any) -> None:
    owner: User = await new_user()
    other: User = await new_user()
    private = await owner.client.post(
        "/v1/characters", json={"name": "Secret", "visibility": "private", "first_message": "hi"}
    )
    assert private.status_code == 201
    character_id = private.json()["id"]
    conversation = (
        await owner.client.post("/v1/conversations", json={"character_id": str(DEMO_CHARACTER_ID)})
    ).json()
    started = (
        await owner.client.post(
            f"/v1/conversations/{conversation['id']}/messages", json={"content": "mine"}
        )
    ).json()
    message_id = (
        await owner.client.get(f"/v1/conversations/{conversation['id']}/messages")
    ).json()["items"][0]["id"]

    for method, path, body in [
        ("GET", f"/v1/characters/{character_id}", None),
        ("PATCH", f"/v1/characters/{character_id}", {"name": "stolen"}),
        ("DELETE", f"/v1/characters/{character_id}", None),
        ("GET", f"/v1/characters/{character_id}/export", None),
        ("POST", "/v1/conversations", {"character_id": character_id}),
        ("GET", f"/v1/conversations/{conversation['id']}", None),
        ("PATCH", f"/v1/conversations/{conversation['id']}", {"title": "x"}),
        ("DELETE", f"/v1/conversations/{conversation['id']}", None),
        ("GET", f"/v1/conversations/{conversation['id']}/messages", None),
        ("POST", f"/v1/conversations/{conversation['id']}/messages", {"content": "hi"}),
        ("POST", f"/v1/conversations/{conversation['id']}/regenerate", None),
        ("POST", f"/v1/conversations/{conversation['id']}/continue", None),
        ("PATCH", f"/v1/messages/{message_id}", {"content": "x"}),
        ("DELETE", f"/v1/messages/{message_id}", None),
        ("POST", f"/v1/messages/{message_id}/select", {"alternative_index": 0}),
        ("GET", f"/v1/turns/{started['turn_id']}/stream", None),
    ]:
        response = await other.client.request(method, path, json=body)
        assert_error(response, 404)

    mine = (await other.client.get("/v1/characters", params={"scope": "mine"})).json()["items"]
    assert all(c["id"] != character_id for c in mine)
    assert (await other.client.get("/v1/conversations")).json()["items"] == []
    assert (await owner.client.get(f"/v1/characters/{character_id}")).status_code == 200


async def test_public_characters_are_readable_but_not_writable(new_user: Any) -> None:
    owner: User = await new_user()
    other: User = await new_user()
    public = (
        await owner.client.post("/v1/characters", json={"name": "Open", "visibility": "public"})
    ).json()
    assert (await other.client.get(f"/v1/characters/{public['id']}")).status_code == 200
    listed = (await other.client.get("/v1/characters", params={"scope": "public"})).json()["items"]
    assert any(c["id"] == public["id"] for c in listed)
    assert_error(
        await other.client.patch(f"/v1/characters/{public['id']}", json={"name": "x"}), 404
    )
    assert_error(await other.client.delete(f"/v1/characters/{public['id']}"), 404)


async def test_nsfw_characters_are_hidden_until_age_verified(
    new_user: Any, admin: httpx.AsyncClient
) -> None:
    adult = (
        await admin.post(
            "/v1/characters",
            json={"name": "After Dark", "visibility": "public", "content_rating": "nsfw"},
        )
    ).json()
    user: User = await new_user()
    assert_error(await user.client.get(f"/v1/characters/{adult['id']}"), 404)
    listed = (await user.client.get("/v1/characters", params={"scope": "public"})).json()["items"]
    assert all(c["id"] != adult["id"] for c in listed)
    assert_error(
        await user.client.post("/v1/conversations", json={"character_id": adult["id"]}), 404
    )
    assert_error(
        await user.client.post("/v1/characters", json={"name": "x", "content_rating": "nsfw"}),
        403,
        "age_verification_required",
    )
    verified = await user.client.patch("/v1/me", json={"age_verified": True})
    assert verified.json()["age_verified"] is True
    assert (await user.client.get(f"/v1/characters/{adult['id']}")).status_code == 200


async def test_admin_routes_need_the_admin_role(new_user: Any, admin: httpx.AsyncClient) -> None:
    user: User = await new_user()
    for path in (
        "/v1/admin/providers",
        "/v1/admin/models",
        "/v1/admin/prompt-templates",
        "/v1/admin/workers",
    ):
        assert_error(await user.client.get(path), 403, "forbidden")
        assert (await admin.get(path)).status_code == 200
    providers = (await admin.get("/v1/admin/providers")).json()["items"]
    assert {"api_key_env", "api_key_configured"} <= set(providers[0])
    assert not any(k == "key" or k.endswith("secret") for p in providers for k in p)


async def test_a_provider_names_its_key_variable_and_never_shows_a_key(
    admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_PROVIDER_API_KEY", "sk-very-secret")
    created = await admin.post(
        "/v1/admin/providers",
        json={
            "name": f"p{uuid.uuid4().hex[:6]}",
            "base_url": "https://example.invalid/v1",
            "api_key_env": "TEST_PROVIDER_API_KEY",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["api_key_configured"] is True
    assert "sk-very-secret" not in created.text
    listed = await admin.get("/v1/admin/providers")
    assert "sk-very-secret" not in listed.text
    assert_error(
        await admin.post("/v1/admin/providers", json={"name": "x", "base_url": "ftp://nope"}), 422
    )


async def test_an_admin_cannot_point_a_provider_key_at_a_service_secret(
    admin: httpx.AsyncClient,
) -> None:
    """Else the S3 secret would be sent as a bearer token to any URL an admin names."""
    provider = {"name": f"p{uuid.uuid4().hex[:6]}", "base_url": "https://attacker.invalid/v1"}
    for variable in ("ROLEPLAY_S3_SECRET_KEY", "GATEWAY_JWT_SECRET", "CHAT_ANYTHING_API_KEY"):
        refused = await admin.post(
            "/v1/admin/providers", json={**provider, "api_key_env": variable}
        )
        assert_error(refused, 422, "validation_error")
        assert refused.json()["error"]["message"].startswith("api_key_env:")
    created = await admin.post("/v1/admin/providers", json=provider)
    assert created.status_code == 201, created.text
    path = f"/v1/admin/providers/{created.json()['id']}"
    try:
        changed = await admin.patch(path, json={"api_key_env": "ROLEPLAY_S3_SECRET_KEY"})
        assert_error(changed, 422, "validation_error")
    finally:
        await admin.delete(path)


async def test_models_list_shows_availability(new_user: Any) -> None:
    user: User = await new_user()
    items = (await user.client.get("/v1/models", params={"modality": "chat"})).json()["items"]
    by_key = {m["key"]: m for m in items}
    assert by_key["standin-roleplay"]["is_default"] is True
    assert by_key["standin-roleplay"]["available"] is True
    assert {
        "key",
        "display_name",
        "provider",
        "modality",
        "task",
        "is_default",
        "available",
    } <= set(by_key["standin-fallback"])


async def test_auth_rules(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway) as anon:
        assert_error(await anon.get("/v1/me"), 401, "unauthorized")
        assert_error(await anon.get("/v1/me", headers={"Authorization": "Bearer nope"}), 401)
        email = f"{uuid.uuid4().hex[:8]}@example.com"
        body = {"email": email, "password": "long enough", "username": "x"}
        assert (await anon.post("/v1/auth/register", json=body)).status_code == 201
        assert_error(await anon.post("/v1/auth/register", json=body), 409, "email_taken")
        assert_error(
            await anon.post("/v1/auth/login", json={"email": email, "password": "wrong pass"}),
            401,
            "invalid_credentials",
        )
        assert_error(
            await anon.post("/v1/auth/register", json={**body, "email": "not-an-email"}), 422
        )
        assert_error(await anon.post("/v1/auth/register", json={**body, "password": "short"}), 422)
        login = await anon.post(
            "/v1/auth/login", json={"email": email.upper(), "password": "long enough"}
        )
        assert login.status_code == 200 and login.json()["token_type"] == "bearer"


async def test_an_external_providers_jwt_is_accepted(stack: Stack) -> None:
    from roleplay_gateway.settings import GatewaySettings

    secret = "external-shared-secret-with-enough-length"
    settings = GatewaySettings(external_jwt_secret=secret)  # type: ignore[arg-type]
    from roleplay_gateway.auth import tokens

    user_id = uuid.uuid4()
    token = jwt.encode(
        {"sub": str(user_id), "iss": "https://auth.example", "exp": int(time.time()) + 60},
        secret,
        algorithm="HS256",
    )
    assert tokens.decode(settings, token) == (user_id, True)
    forged = jwt.encode(
        {"sub": str(user_id), "iss": "x"}, "wrong-secret-wrong-secret-wrong", algorithm="HS256"
    )
    with pytest.raises(tokens.InvalidTokenError):
        tokens.decode(settings, forged)


async def test_bad_input_gets_the_error_shape(stack: Stack, new_user: Any) -> None:
    user: User = await new_user()
    conversation = (
        await user.client.post("/v1/conversations", json={"character_id": str(DEMO_CHARACTER_ID)})
    ).json()
    send = f"/v1/conversations/{conversation['id']}/messages"
    assert_error(await user.client.post(send, json={"content": ""}), 422, "validation_error")
    assert_error(await user.client.post(send, json={"content": "x" * 16_001}), 422)
    assert_error(await user.client.post(send, json={}), 422)
    assert_error(
        await user.client.post(
            send, content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
    )
    assert_error(
        await user.client.post(send, json={"content": "hi", "model": "no-such-model"}),
        422,
        "unknown_model",
    )
    assert_error(await user.client.get("/v1/conversations/not-a-uuid"), 422)
    assert_error(await user.client.get("/v1/conversations", params={"limit": 1000}), 422)
    assert_error(
        await user.client.get("/v1/conversations", params={"cursor": "%%%"}), 400, "invalid_cursor"
    )
    assert_error(await user.client.get("/v1/characters", params={"cursor": "bm90IGpzb24"}), 400)
    assert_error(await user.client.get("/v1/conversations", params={"status": "deleted"}), 422)
    assert_error(
        await user.client.post("/v1/conversations", json={"character_id": str(uuid.uuid4())}), 404
    )
    assert_error(
        await user.client.post(
            send, content=b"x" * (1024 * 1024 + 10), headers={"content-type": "application/json"}
        ),
        413,
        "payload_too_large",
    )
    turn = (await user.client.post(send, json={"content": "hello"})).json()
    assert_error(
        await user.client.get(turn["stream_url"], headers={"Last-Event-ID": "abc"}),
        400,
        "invalid_last_event_id",
    )
    assert_error(await user.client.get(f"/v1/turns/{uuid.uuid4()}/stream"), 404)
    assert_error(await user.client.patch(f"/v1/conversations/{conversation['id']}", json={}), 422)
    assert_error(await user.client.get("/v1/nowhere"), 404)


async def test_input_that_once_broke_a_conversation_is_4xx(stack: Stack, new_user: Any) -> None:
    """NUL in a message once started a turn whose stream never ended; `{"title": null}` was a
    503; a Last-Event-ID past any sequence aborted the feed."""
    user: User = await new_user()
    conversation = (
        await user.client.post("/v1/conversations", json={"character_id": str(DEMO_CHARACTER_ID)})
    ).json()
    path = f"/v1/conversations/{conversation['id']}"
    before = (await user.client.get(f"{path}/messages")).json()["items"]
    for content in ("hello\u0000there", "hello\ud800there"):
        response = await user.client.post(
            f"{path}/messages",
            content=json.dumps({"content": content}).encode(),
            headers={"content-type": "application/json"},
        )
        assert_error(response, 422, "validation_error")
        assert response.json()["error"]["message"].startswith("content:")
    assert (await user.client.get(f"{path}/messages")).json()["items"] == before

    for field in ("title", "status"):
        assert_error(await user.client.patch(path, json={field: None}), 422, "validation_error")
    async with httpx.AsyncClient(base_url=stack.chat, headers=as_a_service()) as chat:
        internal = f"/internal/conversations/{conversation['id']}"
        for body in ({"title": None}, {"status": None}, {"title": "a\u0000b"}):
            response = await chat.patch(
                internal,
                params={"user_id": user.id},
                content=json.dumps(body).encode(),
                headers={"content-type": "application/json"},
            )
            assert_error(response, 422, "validation_error")
    renamed = await user.client.patch(path, json={"title": "Renamed", "model": None})
    assert renamed.status_code == 200 and renamed.json()["title"] == "Renamed"

    for last_event_id in ("99999999999999999999", "9223372036854775808", "1e3"):
        response = await user.client.get(f"{path}/events", headers={"Last-Event-ID": last_event_id})
        assert_error(response, 400, "invalid_last_event_id")
    assert_error(await user.client.get(f"{path}/events", params={"after": 2**63}), 422)


async def test_card_import_export_round_trip(new_user: Any) -> None:
    user: User = await new_user()
    imported = await user.client.post(
        "/v1/characters/import",
        files={"file": ("quill.json", json.dumps(CARD_V2), "application/json")},
    )
    assert imported.status_code == 201, imported.text
    quill = imported.json()
    assert quill["name"] == "Quill" and quill["persona"] == "pedantic"
    assert quill["first_message"].startswith("Finally") and quill["appearance_tags"] == [
        "silver nib"
    ]

    v3 = {**CARD_V2, "spec": "chara_card_v3", "spec_version": "3.0"}
    info = PngImagePlugin.PngInfo()
    info.add_text("ccv3", base64.b64encode(json.dumps(v3).encode()).decode())
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG", pnginfo=info)
    from_png = await user.client.post(
        "/v1/characters/import", files={"file": ("quill.png", png.getvalue(), "image/png")}
    )
    assert from_png.status_code == 201 and from_png.json()["name"] == "Quill"

    exported = await user.client.get(
        f"/v1/characters/{quill['id']}/export", params={"format": "json"}
    )
    assert exported.json()["spec"] == "chara_card_v2"
    assert exported.json()["data"]["first_mes"] == CARD_V2["data"]["first_mes"]  # type: ignore[index]
    as_png = await user.client.get(
        f"/v1/characters/{quill['id']}/export", params={"format": "png", "version": 3}
    )
    assert as_png.headers["content-type"] == "image/png"
    again = await user.client.post(
        "/v1/characters/import", files={"file": ("again.png", as_png.content, "image/png")}
    )
    assert again.status_code == 201 and again.json()["scenario"] == quill["scenario"]

    for bad in (
        b"not a card",
        b"{}",
        json.dumps({"spec": "chara_card_v2"}).encode(),
        b"\x89PNG\r\n\x1a\nbroken",
    ):
        response = await user.client.post("/v1/characters/import", files={"file": ("bad", bad)})
        assert_error(response, 422)

    portrait = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(portrait, format="PNG")
    uploaded = await user.client.post(
        f"/v1/characters/{quill['id']}/portrait",
        files={"file": ("p.png", portrait.getvalue(), "image/png")},
    )
    assert uploaded.status_code == 200, uploaded.text
    image_url = uploaded.json()["image_url"]
    redirect = await user.client.get(image_url)
    assert redirect.status_code == 307
    async with httpx.AsyncClient() as plain:
        fetched = await plain.get(redirect.headers["location"])
    assert fetched.status_code == 200 and fetched.content == portrait.getvalue()
    assert_error(
        await user.client.post(
            f"/v1/characters/{quill['id']}/portrait", files={"file": ("p.png", b"nope")}
        ),
        422,
        "invalid_image",
    )


async def test_the_web_client_is_served(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway) as anon:
        page = await anon.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        (script,) = re.findall(r'<script[^>]*src="(/assets/[^"]+)"', page.text)
        bundle = await anon.get(script)
    assert "/v1/conversations" in bundle.text


async def test_lists_page_with_opaque_cursors(new_user: Any) -> None:
    user: User = await new_user()
    for n in range(3):
        await user.client.post("/v1/characters", json={"name": f"c{n}"})
        await user.client.post("/v1/conversations", json={"character_id": str(DEMO_CHARACTER_ID)})
    for path, params in (("/v1/characters", {"scope": "mine"}), ("/v1/conversations", {})):
        first = (await user.client.get(path, params={**params, "limit": 2})).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        second = (
            await user.client.get(
                path, params={**params, "limit": 2, "cursor": first["next_cursor"]}
            )
        ).json()
        assert len(second["items"]) == 1 and second["next_cursor"] is None
        assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


async def test_another_users_private_scene_template_cannot_be_used(new_user: Any) -> None:
    owner: User = await new_user()
    other: User = await new_user()
    template = await owner.client.post("/v1/scene-templates", json={"name": "secret cove"})
    assert template.status_code == 201, template.text
    response = await other.client.post(
        "/v1/conversations",
        json={"character_id": str(DEMO_CHARACTER_ID), "scene_template_id": template.json()["id"]},
    )
    assert_error(response, 404)
    assert_error(await other.client.get("/v1/conversations", params={"cursor": "e30"}), 400)
