"""What a scene request carries from the catalog and the characters: the models of its mode's
task first (the `t2i` ones as the fallback), and the portraits for consistency."""

from __future__ import annotations

import uuid

from roleplay_common.storage import PORTRAITS
from roleplay_gateway.scenes.routing import portrait_references, scene_routes
from tests.gateway.conftest import Gateway, NewCaller
from tests.gateway.integration.test_characters import png


async def test_each_mode_routes_to_its_task_then_to_the_t2i_models(gateway: Gateway) -> None:
    async with gateway.runtime.db.transaction() as session:
        t2i = await scene_routes(session, None, "t2i")
        i2i = await scene_routes(session, None, "i2i")
        edit = await scene_routes(session, None, "modification")
        chosen = await scene_routes(session, "standin-image-b", "i2i")
    assert [r.task for r in t2i] == ["t2i"] * len(t2i) and t2i[0].model_key == "standin-image"
    assert i2i[0].model_key == "standin-image-i2i" and i2i[0].task == "i2i"
    assert edit[0].model_key == "standin-image-edit" and edit[0].task == "modification"
    assert {"standin-image", "standin-image-b"} <= {r.model_key for r in i2i[1:]}
    assert "standin-image-i2i" not in {r.model_key for r in edit}
    assert chosen[0].model_key == "standin-image-b"  # the person's choice stands first


async def test_portraits_are_referenced_in_storage_or_by_their_url(
    gateway: Gateway, new_user: NewCaller
) -> None:
    user = await new_user()
    uploaded = (await user.post("/v1/characters", json={"name": "Mira", "role": "ai"})).json()
    portrait = await user.post(
        f"/v1/characters/{uploaded['id']}/portrait", files={"file": ("p.png", png())}
    )
    assert portrait.status_code == 200, portrait.text
    linked = await user.post(
        "/v1/characters",
        json={"name": "Ash", "role": "user", "image_url": "https://example.com/ash.png"},
    )
    assert linked.status_code == 201, linked.text
    async with gateway.runtime.db.transaction() as session:
        refs = await portrait_references(
            session, uuid.UUID(uploaded["id"]), uuid.UUID(linked.json()["id"])
        )
        none = await portrait_references(session, uuid.uuid4(), None)
    assert refs[0].role == "character" and refs[0].bucket == PORTRAITS and refs[0].key
    assert refs[1].role == "persona" and refs[1].url == "https://example.com/ash.png"
    assert none == []
