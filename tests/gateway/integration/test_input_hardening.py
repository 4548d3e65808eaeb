"""Input a client may send that once caused a 500 (or worse): NUL and lone surrogates in any
text field, `null` in a PATCH of a required field, cards nested past any parser, images that
claim a huge canvas, file names that HTTP headers cannot carry, resume positions past any
sequence, webhook tokens that are not ASCII. Each is the contract's 4xx error shape."""

from __future__ import annotations

import base64
import io
import json
import struct
import uuid
import zlib
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from PIL import Image, PngImagePlugin

from roleplay_common.webhooks import webhook_token
from tests.gateway.conftest import Caller, Gateway, NewCaller, assert_error

NUL = "before\u0000after"
SURROGATE = "before\ud800after"


def raw_json(body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Request arguments sending `body` as JSON with escapes, so a lone surrogate travels as
    `\\ud800` (valid JSON) rather than failing to encode on our side."""
    return {
        "content": json.dumps(body, ensure_ascii=True).encode(),
        "headers": {**(headers or {}), "Content-Type": "application/json"},
    }


def assert_field_refused(response: httpx.Response, field: str) -> None:
    assert_error(response, 422, "validation_error")
    error = response.json()["error"]
    assert field in error["message"], error
    assert any(field in ".".join(map(str, e["loc"])) for e in error["details"]["errors"]), error


def claimed_png(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` pixels and carries none."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "lone-surrogate"])
async def test_nul_and_lone_surrogates_are_422_naming_the_field(
    gateway: Gateway, new_user: NewCaller, admin: Caller, bad: str
) -> None:
    client = gateway.client
    email = f"u{uuid.uuid4().hex[:8]}@example.com"
    for path, body, field in (
        (
            "/v1/auth/register",
            {"email": bad, "password": "correct horse", "username": "x"},
            "email",
        ),
        (
            "/v1/auth/register",
            {"email": email, "password": "correct horse", "username": bad},
            "username",
        ),
        (
            "/v1/auth/register",
            {"email": email, "password": f"long {bad}", "username": "x"},
            "password",
        ),
        ("/v1/auth/login", {"email": f"a{bad}@example.com", "password": "x"}, "email"),
        ("/v1/auth/login", {"email": email, "password": bad}, "password"),
    ):
        assert_field_refused(await client.post(path, **raw_json(body)), field)

    user: Caller = await new_user()
    own = (await user.post("/v1/characters", json={"name": "Own"})).json()
    template = (await user.post("/v1/scene-templates", json={"name": "Own"})).json()
    somewhere = uuid.uuid4()
    for method, path, body, field in (
        ("PATCH", "/v1/me", {"username": bad}, "username"),
        ("POST", "/v1/characters", {"name": bad}, "name"),
        ("POST", "/v1/characters", {"name": "x", "description": bad}, "description"),
        (
            "POST",
            "/v1/characters",
            {"name": "x", "alternate_greetings": ["hi", bad]},
            "alternate_greetings",
        ),
        (
            "POST",
            "/v1/characters",
            {"name": "x", "scene_behavior_rules": {"a": [{"b": bad}]}},
            "scene_behavior_rules",
        ),
        (
            "POST",
            "/v1/characters",
            {"name": "x", "scene_behavior_rules": {bad: 1}},
            "scene_behavior_rules",
        ),
        ("PATCH", f"/v1/characters/{own['id']}", {"first_message": bad}, "first_message"),
        ("POST", "/v1/scene-templates", {"name": "x", "scene_starters": [bad]}, "scene_starters"),
        ("PATCH", f"/v1/scene-templates/{template['id']}", {"setting": bad}, "setting"),
        ("POST", "/v1/conversations", {"character_id": str(somewhere), "title": bad}, "title"),
        ("PATCH", f"/v1/conversations/{somewhere}", {"title": bad}, "title"),
        ("POST", f"/v1/conversations/{somewhere}/messages", {"content": bad}, "content"),
        (
            "POST",
            f"/v1/conversations/{somewhere}/messages",
            {"content": "hi", "model": bad},
            "model",
        ),
        ("POST", f"/v1/conversations/{somewhere}/regenerate", {"model": bad}, "model"),
        ("PATCH", f"/v1/messages/{somewhere}", {"content": bad}, "content"),
        ("POST", f"/v1/conversations/{somewhere}/scenes", {"prompt": bad}, "prompt"),
        (
            "POST",
            f"/v1/conversations/{somewhere}/scenes",
            {"mode": "modification", "modification": {"instruction": bad}},
            "instruction",
        ),
    ):
        response = await client.request(method, path, **raw_json(body, user.headers))
        assert_field_refused(response, field)

    for method, path, body, field in (
        (
            "POST",
            "/v1/admin/providers",
            {"name": "p", "base_url": "https://x", "display_name": bad},
            "display_name",
        ),
        (
            "POST",
            "/v1/admin/prompt-templates",
            {"name": "t", "system_prompt": bad},
            "system_prompt",
        ),
        ("POST", f"/v1/admin/users/{user.id}/credits", {"amount": "1", "reason": bad}, "reason"),
    ):
        response = await client.request(method, path, **raw_json(body, admin.headers))
        assert_field_refused(response, field)


def text_fields(schema: dict[str, Any], spec: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the plain-text properties of a JSON schema (no enum, no format), nested
    objects included."""

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        return node

    found: list[str] = []
    for name, prop in resolve(schema).get("properties", {}).items():
        for option in [resolve(o) for o in prop.get("anyOf", [prop])]:
            if option.get("type") == "string" and "enum" not in option and "format" not in option:
                found.append(f"{prefix}{name}")
            elif option.get("type") == "object" and "properties" in option:
                found.extend(text_fields(option, spec, f"{prefix}{name}."))
    return found


def body_with(field: str, value: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    *parents, leaf = field.split(".")
    node = body
    for parent in parents:
        node = node.setdefault(parent, {})
    node[leaf] = value
    return body


async def test_every_text_field_of_every_json_body_refuses_nul(
    gateway: Gateway, admin: Caller
) -> None:
    """Read from the OpenAPI document, so a field added later is held to the same rule (a
    field whose pattern already excludes the value may refuse it by that pattern)."""
    spec = (await gateway.client.get("/openapi.json")).json()
    checked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            url = path
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    url = url.replace("{" + parameter["name"] + "}", str(uuid.uuid4()))
            for field in text_fields(content["application/json"]["schema"], spec):
                response = await gateway.client.request(
                    method.upper(), url, **raw_json(body_with(field, NUL), admin.headers)
                )
                assert_error(response, 422, "validation_error")
                errors = response.json()["error"]["details"]["errors"]
                leaf = field.rsplit(".", 1)[-1]
                assert any(e["loc"][-1] == leaf for e in errors), (
                    method,
                    path,
                    field,
                    errors,
                )
                checked += 1
    assert checked >= 40


async def test_nul_in_a_query_is_422(new_user: NewCaller) -> None:
    user: Caller = await new_user()
    response = await user.get("/v1/library", params={"asset_type": "scene\u0000"})
    assert_field_refused(response, "asset_type")


async def test_null_in_a_patch_of_a_required_field_is_422(
    new_user: NewCaller, admin: Caller
) -> None:
    user: Caller = await new_user()
    own = (await user.post("/v1/characters", json={"name": "Own"})).json()
    template = (await user.post("/v1/scene-templates", json={"name": "Own"})).json()
    somewhere = uuid.uuid4()
    for path, field in (
        (f"/v1/conversations/{somewhere}", "title"),
        (f"/v1/conversations/{somewhere}", "status"),
        (f"/v1/conversations/{somewhere}", "auto_keep_scenes"),
        ("/v1/me", "username"),
        ("/v1/me", "age_verified"),
        (f"/v1/characters/{own['id']}", "name"),
        (f"/v1/characters/{own['id']}", "tags"),
        (f"/v1/scene-templates/{template['id']}", "name"),
        (f"/v1/messages/{somewhere}", "content"),
    ):
        response = await user.patch(path, json={field: None})
        assert_error(response, 422, "validation_error")
        assert field in response.json()["error"]["message"]
    for path, field in (
        (f"/v1/admin/providers/{somewhere}", "base_url"),
        (f"/v1/admin/models/{somewhere}", "model_name"),
        (f"/v1/admin/prompt-templates/{somewhere}", "system_prompt"),
    ):
        assert_error(await admin.patch(path, json={field: None}), 422, "validation_error")


async def test_any_character_name_exports_with_an_rfc_6266_file_name(
    new_user: NewCaller,
) -> None:
    user: Caller = await new_user()
    name = 'Капитан "船長" Zoë/..'
    character = (await user.post("/v1/characters", json={"name": name})).json()
    for fmt in ("json", "png"):
        response = await user.get(
            f"/v1/characters/{character['id']}/export", params={"format": fmt}
        )
        assert response.status_code == 200, response.text
        disposition = response.headers["content-disposition"]
        assert disposition.isascii()
        plain, encoded = disposition.split("; filename*=UTF-8''")
        assert plain.startswith('attachment; filename="') and plain.endswith(f'.{fmt}"')
        assert unquote(encoded) == f"{name}.{fmt}"


def nested(depth: int) -> bytes:
    return b'{"name": "Deep", "extensions": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"


def png_with_card(raw_card: bytes) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("chara", base64.b64encode(raw_card).decode())
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000,
        b'{"name": "Deep", "tags": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        nested(500),
        png_with_card(b"[" * 100_000),
        png_with_card(nested(500)),
        claimed_png(50_000, 50_000),
        claimed_png(8_000, 6_000),
    ],
    ids=[
        "open-brackets",
        "deep-list-in-a-card",
        "deep-object",
        "png-open-brackets",
        "png-deep-object",
        "png-bomb",
        "png-over-the-pixel-cap",
    ],
)
async def test_cards_past_the_parsing_bounds_are_422(new_user: NewCaller, content: bytes) -> None:
    user: Caller = await new_user()
    response = await user.post("/v1/characters/import", files={"file": ("card", content)})
    assert_error(response, 422, "malformed_card")


async def test_portraits_over_the_pixel_cap_are_422(new_user: NewCaller) -> None:
    user: Caller = await new_user()
    own = (await user.post("/v1/characters", json={"name": "Own"})).json()
    for content in (claimed_png(8_000, 6_000), claimed_png(100_000, 100_000)):
        response = await user.post(
            f"/v1/characters/{own['id']}/portrait", files={"file": ("p.png", content, "image/png")}
        )
        assert_error(response, 422, "invalid_image")
        assert "pixels" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "last_event_id",
    ["99999999999999999999", "9223372036854775808", "1e9", "\u0661\u0662", "0x10", "1_000", "-"],
)
async def test_a_resume_position_past_any_sequence_is_400(
    new_user: NewCaller, last_event_id: str
) -> None:
    user: Caller = await new_user()
    response = await user.client.get(
        f"/v1/turns/{uuid.uuid4()}/stream",
        headers={**user.headers, "Last-Event-ID": last_event_id.encode()},
    )
    assert_error(response, 400, "invalid_last_event_id")


async def test_a_resume_query_past_any_sequence_is_422(new_user: NewCaller) -> None:
    user: Caller = await new_user()
    for path in (f"/v1/turns/{uuid.uuid4()}/stream", f"/v1/conversations/{uuid.uuid4()}/events"):
        response = await user.get(path, params={"after": str(2**63)})
        assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("token", ["é" * 64, "\u2603", "a" * 63 + "\u00ff", "%00"])
async def test_a_webhook_token_that_is_not_ours_is_404(gateway: Gateway, token: str) -> None:
    response = await gateway.client.post(
        f"/v1/webhooks/fal/{uuid.uuid4()}", params={"token": token}, json={"status": "OK"}
    )
    assert_error(response, 404, "not_found")


async def test_a_webhook_body_with_nul_is_422(gateway: Gateway) -> None:
    """A provider's result with NUL inside would fail in the scenes service's JSONB column."""
    job_id = str(uuid.uuid4())
    token = webhook_token(gateway.settings.webhook_secret.get_secret_value(), job_id)
    response = await gateway.client.post(
        f"/v1/webhooks/fal/{job_id}",
        params={"token": token},
        **raw_json({"status": "OK", "payload": {"images": [{"url": NUL}]}}),
    )
    assert_error(response, 422, "validation_error")


async def test_json_bodies_nested_past_any_limit_are_4xx(new_user: NewCaller) -> None:
    user: Caller = await new_user()
    headers = {**user.headers, "Content-Type": "application/json"}
    past_the_parser = b"[" * 100_000
    assert_error(
        await user.client.post("/v1/characters", content=past_the_parser, headers=headers), 400
    )
    deep = b'{"name": "x", "scene_behavior_rules": ' + b'{"a": ' * 500 + b"1" + b"}" * 500 + b"}"
    response = await user.client.post("/v1/characters", content=deep, headers=headers)
    assert_field_refused(response, "scene_behavior_rules")
