"""The catalog: admin routes, `GET /v1/models`, model routing with worker health, prompt
template selection, and the seed data.

Rows made here use their own task and use-case names, so the session's other tests (which
route `roleplay` turns) never meet them; they are deleted at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from roleplay_common.http import ApiError
from roleplay_gateway.catalog.routing import chat_routes, image_routes, select_prompt_template
from roleplay_gateway.catalog.seed import (
    DEMO_CHARACTER_ID,
    DEMO_PERSONA_ID,
    DEMO_SCENE_ID,
    seed_catalog,
)
from roleplay_gateway.catalog.worker_health import check_workers
from tests.gateway.conftest import Caller, Gateway, NewCaller, assert_error
from tests.support.servers import free_port, serve


async def test_admin_routes_need_the_admin_role(new_user: NewCaller, admin: Caller) -> None:
    user: Caller = await new_user()
    some_id = uuid.uuid4()
    for method, path in (
        ("GET", "/v1/admin/providers"),
        ("POST", "/v1/admin/providers"),
        ("PATCH", f"/v1/admin/providers/{some_id}"),
        ("DELETE", f"/v1/admin/providers/{some_id}"),
        ("GET", "/v1/admin/models"),
        ("POST", "/v1/admin/models"),
        ("PATCH", f"/v1/admin/models/{some_id}"),
        ("DELETE", f"/v1/admin/models/{some_id}"),
        ("GET", "/v1/admin/prompt-templates"),
        ("POST", "/v1/admin/prompt-templates"),
        ("PATCH", f"/v1/admin/prompt-templates/{some_id}"),
        ("DELETE", f"/v1/admin/prompt-templates/{some_id}"),
        ("GET", "/v1/admin/workers"),
    ):
        body: dict[str, Any] | None = {} if method in ("POST", "PATCH") else None
        response = await user.client.request(method, path, json=body, headers=user.headers)
        assert_error(response, 403, "forbidden")
        assert_error(await user.client.request(method, path, json=body), 401)
    for path in ("providers", "models", "prompt-templates", "workers"):
        listed = await admin.get(f"/v1/admin/{path}")
        assert listed.status_code == 200 and isinstance(listed.json()["items"], list)


async def test_providers_name_their_key_variable_and_never_show_a_key(
    admin: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOG_TEST_API_KEY", "sk-catalog-test-very-secret")
    name = f"p-{uuid.uuid4().hex[:8]}"
    created = await admin.post(
        "/v1/admin/providers",
        json={
            "name": name,
            "display_name": "Test provider",
            "base_url": "https://provider.invalid/v1",
            "api_key_env": "CATALOG_TEST_API_KEY",
        },
    )
    assert created.status_code == 201, created.text
    provider = created.json()
    assert provider["api_key_env"] == "CATALOG_TEST_API_KEY"
    assert provider["api_key_configured"] is True
    path = f"/v1/admin/providers/{provider['id']}"
    try:
        for response in (
            created,
            await admin.get("/v1/admin/providers"),
            await admin.patch(path, json={"display_name": "Renamed"}),
            await admin.get("/v1/admin/models"),
            await admin.get("/v1/models"),
        ):
            assert "sk-catalog-test-very-secret" not in response.text
        assert_error(
            await admin.post(
                "/v1/admin/providers",
                json={"name": name, "base_url": "https://other.invalid"},
            ),
            409,
            "conflict",
        )
        cleared = await admin.patch(path, json={"api_key_env": None})
        assert cleared.json()["api_key_env"] is None
        assert cleared.json()["api_key_configured"] is False
    finally:
        assert (await admin.delete(path)).status_code == 204
    assert_error(await admin.delete(path), 404)


async def test_admin_input_is_validated(admin: Caller) -> None:
    for body in (
        {},
        {"name": "x", "base_url": "ftp://nope"},
        {"name": "Has Spaces", "base_url": "https://x.invalid"},
        {"name": "x", "base_url": "https://x.invalid", "kind": "carrier-pigeon"},
        {"name": "x", "base_url": "https://x.invalid", "api_key_env": "sk-live-123"},
    ):
        assert_error(await admin.post("/v1/admin/providers", json=body), 422, "validation_error")
    model = {
        "key": "k",
        "provider_id": str(uuid.uuid4()),
        "model_name": "m",
        "modality": "chat",
        "task": "roleplay",
    }
    assert_error(await admin.post("/v1/admin/models", json=model), 422, "unknown_provider")
    for bad in (
        {**model, "modality": "audio"},
        {**model, "priority": -1},
        {**model, "context_window": 10},
        {**model, "input_cost_per_mtok": "-1"},
        {**model, "key": "has space"},
        {**model, "provider_id": "nope"},
    ):
        assert_error(await admin.post("/v1/admin/models", json=bad), 422, "validation_error")
    for bad in (
        {"name": "t"},
        {"name": "t", "system_prompt": ""},
        {"name": "t", "system_prompt": "x", "content_mode": "spicy"},
        {"name": "t", "system_prompt": "x", "version": 0},
    ):
        assert_error(await admin.post("/v1/admin/prompt-templates", json=bad), 422)
    for kind in ("providers", "models", "prompt-templates"):
        assert_error(await admin.patch(f"/v1/admin/{kind}/{uuid.uuid4()}", json={}), 404)
        assert_error(await admin.patch(f"/v1/admin/{kind}/not-a-uuid", json={}), 422)
    assert_error(
        await admin.patch(f"/v1/admin/models/{uuid.uuid4()}", json={"is_active": None}), 422
    )


@dataclass
class Fixture:
    """Providers and models of one routing test, all on the task `task`."""

    task: str
    keys: dict[str, str]
    provider_ids: list[str]


@pytest.fixture
async def routing_catalog(admin: Caller, gateway: Gateway) -> AsyncIterator[Fixture]:
    """A remote provider, a healthy and a dead local worker, and an inactive provider, with
    models at several priorities; worker health checked once."""

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    worker = Starlette(routes=[Route("/health", health)])
    port = free_port()
    tag = uuid.uuid4().hex[:8]
    task = f"roleplay-test-{tag}"
    async with serve(worker, port) as worker_url:
        providers: dict[str, str] = {}
        for name, kind, base_url, active in (
            ("remote", "openai_compatible", "https://remote.invalid/v1", True),
            ("healthy", "local_worker", worker_url, True),
            ("down", "local_worker", f"http://127.0.0.1:{free_port()}", True),
            ("off", "openai_compatible", "https://off.invalid/v1", False),
        ):
            created = await admin.post(
                "/v1/admin/providers",
                json={
                    "name": f"{name}-{tag}",
                    "kind": kind,
                    "base_url": base_url,
                    "health_url": f"{base_url}/health" if kind == "local_worker" else None,
                    "is_active": active,
                },
            )
            assert created.status_code == 201, created.text
            providers[name] = created.json()["id"]
        keys: dict[str, str] = {}
        for name, provider, priority, extra in (
            ("default", "remote", 50, {"is_default": True}),
            ("p5", "remote", 5, {}),
            ("p20-local", "healthy", 20, {}),
            ("p1-down", "down", 1, {}),
            ("p0-provider-off", "off", 0, {}),
            ("p0-inactive", "remote", 0, {"is_active": False}),
            ("other-task", "remote", 99, {"task": f"other-{tag}"}),
        ):
            key = f"{name}-{tag}"
            created = await admin.post(
                "/v1/admin/models",
                json={
                    "key": key,
                    "display_name": name,
                    "provider_id": providers[provider],
                    "model_name": f"vendor/{name}",
                    "modality": "chat",
                    "task": task,
                    "priority": priority,
                    **extra,
                },
            )
            assert created.status_code == 201, created.text
            keys[name] = key
        async with httpx.AsyncClient() as client:
            results = await check_workers(gateway.runtime, client)
        assert results[f"healthy-{tag}"]["is_healthy"] is True
        assert results[f"down-{tag}"]["is_healthy"] is False
        try:
            yield Fixture(task, keys, list(providers.values()))
        finally:
            for provider_id in providers.values():
                await admin.delete(f"/v1/admin/providers/{provider_id}")
            async with httpx.AsyncClient() as client:
                await check_workers(gateway.runtime, client)


async def test_routes_follow_request_default_priority_and_health(
    gateway: Gateway, routing_catalog: Fixture
) -> None:
    keys, task = routing_catalog.keys, routing_catalog.task
    usable_order = [keys["default"], keys["p5"], keys["p20-local"]]

    async def route(requested: str | None, on: str = task) -> list[str]:
        async with gateway.runtime.db.transaction() as session:
            return [r.model_key for r in await chat_routes(session, requested, task=on)]

    # The default first, then by priority; the dead worker, the inactive model and the
    # inactive provider's model are left out.
    assert await route(None) == usable_order
    # A requested model goes first, whatever its task.
    assert await route(keys["other-task"]) == [keys["other-task"], *usable_order]
    assert await route(keys["p20-local"]) == [
        keys["p20-local"],
        keys["default"],
        keys["p5"],
    ]
    # Requested but not usable now: skipped, the task's models stand in.
    for unusable in ("p1-down", "p0-inactive", "p0-provider-off"):
        assert await route(keys[unusable]) == usable_order, unusable

    async with gateway.runtime.db.transaction() as session:
        routes = await chat_routes(session, None, task=task)
        with pytest.raises(ApiError) as unknown:
            await chat_routes(session, "no-such-model", task=task)
        with pytest.raises(ApiError) as nothing:
            await chat_routes(session, None, task=f"nothing-{task}")
        with pytest.raises(ApiError) as not_an_image_model:
            await image_routes(session, keys["default"])
    assert routes[2].provider_kind == "local_worker" and routes[2].health_url
    assert routes[0].model_name == "vendor/default" and routes[0].base_url.startswith("https")
    assert (unknown.value.status, unknown.value.code) == (422, "unknown_model")
    assert (nothing.value.status, nothing.value.code) == (503, "no_model_available")
    assert nothing.value.headers["Retry-After"]
    assert not_an_image_model.value.code == "unknown_model"


async def test_models_list_and_workers_show_health(
    new_user: NewCaller, admin: Caller, routing_catalog: Fixture
) -> None:
    user: Caller = await new_user()
    listed = (await user.get("/v1/models", params={"modality": "chat"})).json()["items"]
    by_key = {m["key"]: m for m in listed}
    keys = routing_catalog.keys
    assert by_key[keys["p20-local"]]["available"] is True
    assert by_key[keys["p1-down"]]["available"] is False
    assert by_key[keys["p0-provider-off"]]["available"] is False
    assert keys["p0-inactive"] not in by_key
    assert set(by_key[keys["default"]]) >= {
        "key",
        "display_name",
        "provider",
        "modality",
        "task",
        "is_default",
        "available",
    }
    assert by_key[keys["default"]]["is_default"] is True
    assert all(m["modality"] == "chat" for m in listed)
    images = (await user.get("/v1/models", params={"modality": "image"})).json()["items"]
    assert images and all(m["modality"] == "image" for m in images)
    assert_error(await user.get("/v1/models", params={"modality": "video"}), 422)

    workers = {w["name"]: w for w in (await admin.get("/v1/admin/workers")).json()["items"]}
    tag = keys["default"].rsplit("-", 1)[1]
    healthy, down = workers[f"healthy-{tag}"], workers[f"down-{tag}"]
    assert healthy["is_healthy"] is True and healthy["usable"] is True
    assert healthy["last_checked"] and healthy["response_time_ms"] >= 0
    assert down["is_healthy"] is False and down["usable"] is False and down["health_error"]


async def test_a_worker_whose_health_answer_says_error_is_down(
    gateway: Gateway, admin: Caller
) -> None:
    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "error", "detail": "GPU lost"})

    port = free_port()
    name = f"sick-{uuid.uuid4().hex[:8]}"
    async with serve(Starlette(routes=[Route("/health", health)]), port) as url:
        created = await admin.post(
            "/v1/admin/providers",
            json={"name": name, "kind": "local_worker", "base_url": url},
        )
        try:
            async with httpx.AsyncClient() as client:
                results = await check_workers(gateway.runtime, client)
            assert results[name]["is_healthy"] is False
            assert results[name]["worker_url"] == f"{url}/health"
        finally:
            await admin.delete(f"/v1/admin/providers/{created.json()['id']}")


async def test_prompt_templates_fall_back_from_exact_to_universal_and_nsfw_to_sfw(
    gateway: Gateway, admin: Caller
) -> None:
    use_case = f"roleplay-test-{uuid.uuid4().hex[:8]}"
    model = "test-model"
    made: dict[str, str] = {}

    async def template(name: str, **fields: Any) -> None:
        body = {"name": name, "use_case": use_case, "system_prompt": f"[{name}]", **fields}
        created = await admin.post("/v1/admin/prompt-templates", json=body)
        assert created.status_code == 201, created.text
        made[name] = created.json()["id"]

    async def chosen(target: str | None, mode: str, case: str = use_case) -> str | None:
        async with gateway.runtime.db.transaction() as session:
            found = await select_prompt_template(
                session, use_case=case, target_model=target, content_mode=mode
            )
        return found.name if found else None

    await template("exact-nsfw", content_mode="nsfw", target_model=model)
    await template("universal-nsfw", content_mode="nsfw")
    await template("exact-sfw", content_mode="sfw", target_model=model)
    await template("universal-sfw-v1", content_mode="sfw", version=1)
    await template("universal-sfw-v2", content_mode="sfw", version=2)
    await template("other-model-inactive", target_model="other-model", is_active=False)
    try:
        assert await chosen(model, "nsfw") == "exact-nsfw"
        assert await chosen(model, "sfw") == "exact-sfw"
        assert await chosen("other-model", "sfw") == "universal-sfw-v2"  # newest version
        assert await chosen(None, "sfw") == "universal-sfw-v2"
        assert await chosen(None, "nsfw") == "universal-nsfw"

        await admin.delete(f"/v1/admin/prompt-templates/{made['exact-nsfw']}")
        assert await chosen(model, "nsfw") == "universal-nsfw"
        deactivated = await admin.patch(
            f"/v1/admin/prompt-templates/{made['universal-nsfw']}", json={"is_active": False}
        )
        assert deactivated.json()["is_active"] is False
        assert await chosen(model, "nsfw") == "exact-sfw"  # nsfw falls back to sfw
        assert await chosen("other-model", "nsfw") == "universal-sfw-v2"
        assert await chosen(model, "sfw", f"nothing-{use_case}") is None

        # A sfw turn never gets an nsfw template.
        await admin.delete(f"/v1/admin/prompt-templates/{made['exact-sfw']}")
        for name in ("universal-sfw-v1", "universal-sfw-v2"):
            await admin.delete(f"/v1/admin/prompt-templates/{made[name]}")
        await admin.patch(
            f"/v1/admin/prompt-templates/{made['universal-nsfw']}", json={"is_active": True}
        )
        assert await chosen(model, "sfw") is None
        assert await chosen(model, "nsfw") == "universal-nsfw"
    finally:
        for template_id in made.values():
            await admin.delete(f"/v1/admin/prompt-templates/{template_id}")


async def test_admin_creations_are_idempotent(admin: Caller) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {
        "name": "idempotent",
        "use_case": f"test-{uuid.uuid4().hex[:8]}",
        "system_prompt": "You are {{character_name}}.",
    }
    first = await admin.post("/v1/admin/prompt-templates", json=body, headers=key)
    again = await admin.post("/v1/admin/prompt-templates", json=body, headers=key)
    try:
        assert first.status_code == again.status_code == 201
        assert first.json()["id"] == again.json()["id"]
        listed = (await admin.get("/v1/admin/prompt-templates")).json()["items"]
        assert [t["use_case"] for t in listed].count(body["use_case"]) == 1
    finally:
        await admin.delete(f"/v1/admin/prompt-templates/{first.json()['id']}")


async def test_the_seed_is_there_and_applies_once(gateway: Gateway, admin: Caller) -> None:
    await seed_catalog(gateway.runtime, gateway.settings)  # a second start changes nothing

    me = (await admin.get("/v1/me")).json()
    assert "admin" in me["roles"] and me["default_persona_id"] == str(DEMO_PERSONA_ID)
    providers = {p["name"]: p for p in (await admin.get("/v1/admin/providers")).json()["items"]}
    standin = providers["standin"]
    assert standin["base_url"] == f"{gateway.settings.standin_url.rstrip('/')}/v1"
    assert "STAND-IN" in standin["display_name"]
    models = (await admin.get("/v1/admin/models")).json()["items"]
    by_key = {m["key"]: m for m in models}
    assert [m["key"] for m in models].count("standin-roleplay") == 1
    roleplay, fallback = by_key["standin-roleplay"], by_key["standin-fallback"]
    assert roleplay["is_default"] and roleplay["priority"] == 0
    assert roleplay["model_name"] == "standin-roleplay" and roleplay["provider"] == "standin"
    assert fallback["priority"] == 10 and not fallback["is_default"]
    assert (
        by_key["standin-image"]["modality"] == "image" and by_key["standin-image"]["task"] == "t2i"
    )

    templates = (await admin.get("/v1/admin/prompt-templates")).json()["items"]
    roleplay_templates = [t for t in templates if t["use_case"] == "character_roleplay"]
    assert {(t["content_mode"], t["target_model"]) for t in roleplay_templates} >= {
        ("sfw", None),
        ("nsfw", None),
        ("sfw", "standin-roleplay"),
    }
    assert len(roleplay_templates) == len({t["name"] for t in roleplay_templates})
    for t in roleplay_templates:
        assert "{{character_name}}" in t["system_prompt"] and "{{user_name}}" in t["system_prompt"]

    demo = (await admin.get(f"/v1/characters/{DEMO_CHARACTER_ID}")).json()
    assert demo["visibility"] == "public" and demo["content_rating"] == "sfw"
    assert demo["owner_id"] == me["id"] and len(demo["alternate_greetings"]) == 2
    persona = (await admin.get(f"/v1/characters/{DEMO_PERSONA_ID}")).json()
    assert persona["role"] == "user"
    scene = (await admin.get(f"/v1/scene-templates/{DEMO_SCENE_ID}")).json()
    assert scene["visibility"] == "public" and scene["scene_prompt"]


@pytest.mark.parametrize(
    "variable",
    ["ROLEPLAY_S3_SECRET_KEY", "GATEWAY_JWT_SECRET", "SCENES_WEBHOOK_SECRET", "PATH", "HOME"],
)
async def test_a_provider_key_variable_must_be_on_the_allow_list(
    admin: Caller, variable: str
) -> None:
    """Never one of the services' own settings, nor any variable the allow-list leaves out:
    at create and at change, a 422 naming `api_key_env`."""
    name = f"p-{uuid.uuid4().hex[:8]}"
    refused = await admin.post(
        "/v1/admin/providers",
        json={"name": name, "base_url": "https://attacker.invalid/v1", "api_key_env": variable},
    )
    assert_error(refused, 422, "validation_error")
    assert refused.json()["error"]["message"].startswith("api_key_env:")
    assert [e["loc"] for e in refused.json()["error"]["details"]["errors"]] == [
        ["body", "api_key_env"]
    ]
    created = await admin.post(
        "/v1/admin/providers",
        json={"name": name, "base_url": "https://p.invalid/v1", "api_key_env": "P_API_KEY"},
    )
    assert created.status_code == 201, created.text
    path = f"/v1/admin/providers/{created.json()['id']}"
    try:
        changed = await admin.patch(path, json={"api_key_env": variable})
        assert_error(changed, 422, "validation_error")
        assert "api_key_env" in changed.json()["error"]["message"]
        listed = (await admin.get("/v1/admin/providers")).json()["items"]
        assert next(p for p in listed if p["name"] == name)["api_key_env"] == "P_API_KEY"
    finally:
        assert (await admin.delete(path)).status_code == 204
