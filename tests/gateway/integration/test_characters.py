"""Characters and personas: who sees and changes what, cards in and out, portraits; scene
templates; the snapshots turns take of them."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import uuid
from typing import Any

import httpx
import pytest
from PIL import Image, PngImagePlugin

from roleplay_common.http import ApiError
from roleplay_gateway.auth.service import load_user
from roleplay_gateway.catalog.seed import DEMO_CHARACTER_ID, DEMO_PERSONA_ID, DEMO_SCENE_ID
from roleplay_gateway.characters.service import (
    character_card,
    character_summaries,
    scene_template_card,
)
from tests.gateway.conftest import Caller, Gateway, NewCaller, assert_error, bomb

CARD = {
    "name": "Quill",
    "description": "A talking pen.",
    "personality": "pedantic",
    "scenario": "{{user}} opens a drawer.",
    "first_mes": "Finally, someone with handwriting to fix.",
    "mes_example": "<START>\n{{char}}: That's not how you spell it.",
    "alternate_greetings": ["Ink first, questions later.", "Hold me properly."],
    "system_prompt": "Be precise.",
    "tags": ["stationery"],
    "creator_notes": "",
    "extensions": {"roleplay": {"appearance_tags": ["silver nib"]}},
}
CARD_V2 = {"spec": "chara_card_v2", "spec_version": "2.0", "data": CARD}
CARD_V3 = {
    "spec": "chara_card_v3",
    "spec_version": "3.0",
    "data": {**CARD, "nickname": "Q", "group_only_greetings": [], "assets": []},
}


def png(size: tuple[int, int] = (16, 16), *, chunks: dict[str, str] | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in (chunks or {}).items():
        info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def card_chunk(card: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(card).encode()).decode()


def read_png_card(data: bytes) -> dict[str, Any]:
    image = Image.open(io.BytesIO(data))
    text: dict[str, str] = dict(getattr(image, "text", {}))
    raw = text.get("ccv3") or text["chara"]
    card: dict[str, Any] = json.loads(base64.b64decode(raw))
    return card


async def test_characters_are_created_read_changed_and_deleted_by_their_owner(
    new_user: NewCaller,
) -> None:
    owner: Caller = await new_user()
    created = await owner.post(
        "/v1/characters",
        json={
            "name": "Mira",
            "role": "ai",
            "description": "A captain.",
            "first_message": "Welcome aboard.",
            "alternate_greetings": ["Ahoy."],
            "scenario": "A storm.",
            "example_dialogue": "Mira: Hold on!",
            "appearance_tags": ["auburn braid"],
            "scene_behavior_rules": {"pacing": "fast"},
            "consistency_method": "i2i_reference",
        },
    )
    assert created.status_code == 201, created.text
    mira = created.json()
    assert mira["owner_id"] == owner.id and mira["visibility"] == "private"
    assert mira["content_rating"] == "sfw" and mira["alternate_greetings"] == ["Ahoy."]

    assert (await owner.get(f"/v1/characters/{mira['id']}")).json() == mira
    changed = await owner.patch(
        f"/v1/characters/{mira['id']}", json={"name": "Mira Vale", "visibility": "public"}
    )
    assert changed.status_code == 200
    assert changed.json()["name"] == "Mira Vale" and changed.json()["visibility"] == "public"
    assert changed.json()["description"] == "A captain."

    deleted = await owner.delete(f"/v1/characters/{mira['id']}")
    assert deleted.status_code == 204
    assert_error(await owner.get(f"/v1/characters/{mira['id']}"), 404, "not_found")
    assert_error(await owner.delete(f"/v1/characters/{mira['id']}"), 404)


async def test_other_users_get_404_for_private_and_may_only_read_public(
    new_user: NewCaller, admin: Caller
) -> None:
    owner: Caller = await new_user()
    other: Caller = await new_user()
    private = (await owner.post("/v1/characters", json={"name": "Secret"})).json()
    public = (
        await owner.post("/v1/characters", json={"name": "Open", "visibility": "public"})
    ).json()

    for method, path, body in (
        ("GET", f"/v1/characters/{private['id']}", None),
        ("PATCH", f"/v1/characters/{private['id']}", {"name": "stolen"}),
        ("DELETE", f"/v1/characters/{private['id']}", None),
        ("GET", f"/v1/characters/{private['id']}/export", None),
        ("PATCH", f"/v1/characters/{public['id']}", {"name": "stolen"}),
        ("DELETE", f"/v1/characters/{public['id']}", None),
    ):
        response = await other.client.request(method, path, json=body, headers=other.headers)
        assert_error(response, 404, "not_found")
        assert "Secret" not in response.text
    portrait = await other.post(
        f"/v1/characters/{public['id']}/portrait", files={"file": ("p.png", png())}
    )
    assert_error(portrait, 404)

    assert (await other.get(f"/v1/characters/{public['id']}")).json()["name"] == "Open"
    theirs = (await other.get("/v1/characters", params={"scope": "public", "limit": 100})).json()
    ids = {c["id"] for c in theirs["items"]}
    assert private["id"] not in ids
    mine = (await other.get("/v1/characters", params={"scope": "mine"})).json()["items"]
    assert mine == []

    # An admin may change anyone's character.
    renamed = await admin.patch(f"/v1/characters/{private['id']}", json={"name": "Moderated"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Moderated"


async def test_lists_filter_by_role_and_scope_and_page(new_user: NewCaller) -> None:
    user: Caller = await new_user()
    for n in range(3):
        await user.post("/v1/characters", json={"name": f"ai{n}", "role": "ai"})
    persona = (await user.post("/v1/characters", json={"name": "me", "role": "user"})).json()

    personas = (await user.get("/v1/characters", params={"role": "user", "scope": "mine"})).json()
    assert [c["id"] for c in personas["items"]] == [persona["id"]]
    first = (
        await user.get("/v1/characters", params={"role": "ai", "scope": "mine", "limit": 2})
    ).json()
    assert [c["name"] for c in first["items"]] == ["ai2", "ai1"] and first["next_cursor"]
    second = (
        await user.get(
            "/v1/characters",
            params={"role": "ai", "scope": "mine", "limit": 2, "cursor": first["next_cursor"]},
        )
    ).json()
    assert [c["name"] for c in second["items"]] == ["ai0"] and second["next_cursor"] is None
    public = (await user.get("/v1/characters", params={"scope": "public", "limit": 100})).json()
    assert str(DEMO_CHARACTER_ID) in {c["id"] for c in public["items"]}


async def test_nsfw_is_hidden_from_users_who_are_not_age_verified(
    new_user: NewCaller, admin: Caller
) -> None:
    adult = (
        await admin.post(
            "/v1/characters",
            json={"name": "After Dark", "visibility": "public", "content_rating": "nsfw"},
        )
    ).json()
    minor: Caller = await new_user()
    verified: Caller = await new_user(age_verified=True)

    assert_error(await minor.get(f"/v1/characters/{adult['id']}"), 404)
    assert_error(await minor.get(f"/v1/characters/{adult['id']}/export"), 404)
    listed = (await minor.get("/v1/characters", params={"scope": "public", "limit": 100})).json()
    assert adult["id"] not in {c["id"] for c in listed["items"]}
    assert_error(
        await minor.post("/v1/characters", json={"name": "x", "content_rating": "nsfw"}),
        403,
        "age_verification_required",
    )
    own = (await minor.post("/v1/characters", json={"name": "mine"})).json()
    assert_error(
        await minor.patch(f"/v1/characters/{own['id']}", json={"content_rating": "nsfw"}), 403
    )

    assert (await verified.get(f"/v1/characters/{adult['id']}")).status_code == 200
    listed = (await verified.get("/v1/characters", params={"scope": "public", "limit": 100})).json()
    assert adult["id"] in {c["id"] for c in listed["items"]}
    made = await verified.post("/v1/characters", json={"name": "y", "content_rating": "nsfw"})
    assert made.status_code == 201


async def test_creating_with_an_idempotency_key_creates_once(new_user: NewCaller) -> None:
    user: Caller = await new_user()
    key = {"Idempotency-Key": uuid.uuid4().hex}
    answers = await asyncio.gather(
        *(user.post("/v1/characters", json={"name": "Once"}, headers=key) for _ in range(4))
    )
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    mine = (await user.get("/v1/characters", params={"scope": "mine"})).json()["items"]
    assert [c["name"] for c in mine] == ["Once"]
    other_key = await user.post(
        "/v1/characters", json={"name": "Twice"}, headers={"Idempotency-Key": "other"}
    )
    assert other_key.json()["id"] != answers[0].json()["id"]


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("v2.json", json.dumps(CARD_V2).encode()),
        ("v3.json", json.dumps(CARD_V3).encode()),
        ("v1.json", json.dumps({k: v for k, v in CARD.items() if k != "extensions"}).encode()),
        ("v2.png", png(chunks={"chara": card_chunk(CARD_V2)})),
        ("v3.png", png(chunks={"ccv3": card_chunk(CARD_V3), "chara": card_chunk(CARD_V2)})),
    ],
)
async def test_cards_are_imported(new_user: NewCaller, filename: str, content: bytes) -> None:
    user: Caller = await new_user()
    imported = await user.post("/v1/characters/import", files={"file": (filename, content)})
    assert imported.status_code == 201, imported.text
    quill = imported.json()
    assert quill["name"] == "Quill" and quill["role"] == "ai" and quill["owner_id"] == user.id
    assert quill["persona"] == "pedantic" and quill["scenario"] == CARD["scenario"]
    assert quill["first_message"] == CARD["first_mes"]
    assert quill["example_dialogue"] == CARD["mes_example"]
    assert quill["alternate_greetings"] == CARD["alternate_greetings"]
    assert quill["system_prompt"] == "Be precise." and quill["tags"] == ["stationery"]
    if filename != "v1.json":
        assert quill["appearance_tags"] == ["silver nib"]


@pytest.mark.parametrize(
    "content",
    [
        b"not a card",
        b"[1, 2]",
        b"{}",
        json.dumps({"spec": "chara_card_v2"}).encode(),
        json.dumps({"spec": "chara_card_v2", "data": []}).encode(),
        b"\x89PNG\r\n\x1a\nbroken",
        png(),
        png(chunks={"chara": "%%% not base64 %%%"}),
        png(chunks={"chara": base64.b64encode(b"not json").decode()}),
        "\u00ff\u00fe".encode("utf-16"),
    ],
)
async def test_malformed_cards_are_422(new_user: NewCaller, content: bytes) -> None:
    user: Caller = await new_user()
    response = await user.post("/v1/characters/import", files={"file": ("bad", content)})
    assert_error(response, 422, "malformed_card")


async def test_import_needs_a_file(new_user: NewCaller) -> None:
    user: Caller = await new_user()
    assert_error(await user.post("/v1/characters/import"), 422, "validation_error")
    assert_error(await user.post("/v1/characters/import", data={"file": "not a file"}), 422)


async def test_export_round_trips_as_json_and_png(new_user: NewCaller) -> None:
    user: Caller = await new_user()
    quill = (
        await user.post(
            "/v1/characters/import", files={"file": ("q.json", json.dumps(CARD_V2).encode())}
        )
    ).json()

    v2 = await user.get(f"/v1/characters/{quill['id']}/export", params={"format": "json"})
    assert v2.status_code == 200 and v2.headers["content-type"].startswith("application/json")
    assert "attachment" in v2.headers["content-disposition"]
    assert v2.json()["spec"] == "chara_card_v2" and v2.json()["spec_version"] == "2.0"
    for field in ("name", "description", "personality", "scenario", "first_mes", "mes_example"):
        assert v2.json()["data"][field] == CARD[field]
    v3 = await user.get(f"/v1/characters/{quill['id']}/export", params={"version": 3})
    assert v3.json()["spec"] == "chara_card_v3" and v3.json()["spec_version"] == "3.0"

    # PNG without a portrait: a placeholder image carrying the card.
    placeholder = await user.get(f"/v1/characters/{quill['id']}/export", params={"format": "png"})
    assert placeholder.headers["content-type"] == "image/png"
    assert read_png_card(placeholder.content)["data"]["name"] == "Quill"

    # With a portrait: the portrait itself carries the card, and imports back as the same.
    portrait = png((32, 48))
    uploaded = await user.post(
        f"/v1/characters/{quill['id']}/portrait", files={"file": ("p.png", portrait, "image/png")}
    )
    assert uploaded.status_code == 200, uploaded.text
    exported = await user.get(
        f"/v1/characters/{quill['id']}/export", params={"format": "png", "version": 3}
    )
    assert Image.open(io.BytesIO(exported.content)).size == (32, 48)
    assert read_png_card(exported.content)["spec"] == "chara_card_v3"
    again = (
        await user.post("/v1/characters/import", files={"file": ("again.png", exported.content)})
    ).json()
    for field in (
        "name",
        "description",
        "persona",
        "scenario",
        "first_message",
        "alternate_greetings",
        "example_dialogue",
        "system_prompt",
        "appearance_tags",
        "content_rating",
    ):
        assert again[field] == quill[field], field
    assert again["id"] != quill["id"]

    assert_error(
        await user.get(f"/v1/characters/{quill['id']}/export", params={"format": "gif"}), 422
    )
    assert_error(await user.get(f"/v1/characters/{quill['id']}/export", params={"version": 4}), 422)


async def test_portraits_are_stored_and_served_by_signed_url(new_user: NewCaller) -> None:
    owner: Caller = await new_user()
    other: Caller = await new_user()
    character = (
        await owner.post("/v1/characters", json={"name": "Posed", "visibility": "public"})
    ).json()
    jpeg = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 90, 200)).save(jpeg, format="JPEG")
    uploaded = await owner.post(
        f"/v1/characters/{character['id']}/portrait",
        files={"file": ("p.jpg", jpeg.getvalue(), "image/jpeg")},
    )
    assert uploaded.status_code == 200, uploaded.text
    image_url = uploaded.json()["image_url"]
    assert image_url == f"/v1/characters/{character['id']}/portrait"

    for reader in (owner, other):  # the character is public
        redirect = await reader.get(image_url)
        assert redirect.status_code == 307
        async with httpx.AsyncClient() as plain:
            fetched = await plain.get(redirect.headers["location"])
        assert fetched.status_code == 200 and fetched.content == jpeg.getvalue()
    assert_error(await owner.client.get(image_url), 401)

    # A new portrait replaces the old one.
    replaced = await owner.post(
        f"/v1/characters/{character['id']}/portrait", files={"file": ("p.png", png())}
    )
    assert replaced.status_code == 200
    location = (await owner.get(image_url)).headers["location"]
    async with httpx.AsyncClient() as plain:
        assert (await plain.get(location)).content == png()

    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    for bad in (b"nope", b"\x89PNG\r\n\x1a\ntruncated", gif.getvalue(), bomb()):
        assert_error(
            await owner.post(
                f"/v1/characters/{character['id']}/portrait", files={"file": ("p", bad)}
            ),
            422,
            "invalid_image",
        )
    bare = (await owner.post("/v1/characters", json={"name": "Bare"})).json()
    assert_error(await owner.get(f"/v1/characters/{bare['id']}/portrait"), 404)


async def test_character_input_is_validated(new_user: NewCaller) -> None:
    user: Caller = await new_user()
    own = (await user.post("/v1/characters", json={"name": "ok"})).json()
    for body in (
        {},
        {"name": ""},
        {"name": "x" * 121},
        {"name": "x", "role": "narrator"},
        {"name": "x", "visibility": "friends"},
        {"name": "x", "content_rating": "pg13"},
        {"name": "x", "alternate_greetings": "hello"},
        {"name": "x", "alternate_greetings": ["x"] * 201},
        {"name": "x", "consistency_method": "magic"},
        {"name": "x", "description": "x" * 100_001},
        {"name": "x", "scene_behavior_rules": ["not", "an", "object"]},
    ):
        assert_error(await user.post("/v1/characters", json=body), 422, "validation_error")
    assert_error(await user.patch(f"/v1/characters/{own['id']}", json={"name": None}), 422)
    assert_error(await user.get("/v1/characters/not-a-uuid"), 422)
    assert_error(await user.get("/v1/characters", params={"role": "robot"}), 422)
    assert_error(await user.get("/v1/characters", params={"scope": "everyone"}), 422)
    assert_error(await user.get("/v1/characters", params={"limit": 0}), 422)
    assert_error(await user.get("/v1/characters", params={"limit": 101}), 422)
    assert_error(await user.get("/v1/characters", params={"cursor": "%%%"}), 400, "invalid_cursor")
    not_ours = base64.urlsafe_b64encode(b'{"t": "yesterday"}').decode()
    assert_error(await user.get("/v1/characters", params={"cursor": not_ours}), 400)
    assert_error(await user.get(f"/v1/characters/{uuid.uuid4()}"), 404)


async def test_scene_templates_follow_the_same_rules(
    gateway: Gateway, new_user: NewCaller, admin: Caller
) -> None:
    owner: Caller = await new_user()
    other: Caller = await new_user()
    created = await owner.post(
        "/v1/scene-templates",
        json={
            "name": "Lighthouse",
            "description": "A lighthouse at night.",
            "setting": "A rocky island.",
            "scenario": "The lamp went out.",
            "scene_prompt": "lighthouse, night, waves",
            "scene_starters": ["Climb the stairs."],
            "tags": ["mystery"],
        },
        headers={"Idempotency-Key": "lighthouse"},
    )
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["setting"] == "A rocky island." and template["visibility"] == "private"
    again = await owner.post(
        "/v1/scene-templates",
        json={"name": "Lighthouse"},
        headers={"Idempotency-Key": "lighthouse"},
    )
    assert again.json()["id"] == template["id"]

    path = f"/v1/scene-templates/{template['id']}"
    assert (await owner.get(path)).json() == template
    for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
        assert_error(
            await other.client.request(method, path, json=body, headers=other.headers), 404
        )
    listed = (await other.get("/v1/scene-templates", params={"limit": 100})).json()
    ids = {t["id"] for t in listed["items"]}
    assert template["id"] not in ids and str(DEMO_SCENE_ID) in ids

    published = await owner.patch(path, json={"visibility": "public", "scenario": "Fog."})
    assert (
        published.json()["scenario"] == "Fog." and published.json()["setting"] == "A rocky island."
    )
    assert (await other.get(path)).status_code == 200
    assert_error(await other.patch(path, json={"name": "x"}), 404)

    adult = (
        await admin.post(
            "/v1/scene-templates",
            json={"name": "Late", "visibility": "public", "content_rating": "nsfw"},
        )
    ).json()
    assert_error(await other.get(f"/v1/scene-templates/{adult['id']}"), 404)
    assert_error(
        await other.post("/v1/scene-templates", json={"name": "x", "content_rating": "nsfw"}),
        403,
    )
    for body in ({}, {"name": ""}, {"name": "x", "visibility": "all"}, {"name": "x", "tags": "a"}):
        assert_error(await owner.post("/v1/scene-templates", json=body), 422)

    async with gateway.runtime.db.transaction() as session:
        viewer = await load_user(session, uuid.UUID(other.id))
        assert viewer is not None
        card = await scene_template_card(session, viewer, uuid.UUID(template["id"]))
        assert card.name == "Lighthouse" and card.scene_prompt == "lighthouse, night, waves"
        with pytest.raises(ApiError) as hidden:
            await scene_template_card(session, viewer, uuid.UUID(adult["id"]))
        assert hidden.value.status == 404

    assert (await owner.delete(path)).status_code == 204
    assert_error(await owner.get(path), 404)


async def test_turns_get_character_cards_and_lists_get_summaries(
    gateway: Gateway, new_user: NewCaller, admin: Caller
) -> None:
    user: Caller = await new_user()
    other: Caller = await new_user()
    persona = (await user.post("/v1/characters", json={"name": "Me", "role": "user"})).json()
    async with gateway.runtime.db.transaction() as session:
        caller = await load_user(session, uuid.UUID(user.id))
        stranger = await load_user(session, uuid.UUID(other.id))
        assert caller is not None and stranger is not None

        demo = await character_card(session, caller, DEMO_CHARACTER_ID, role="ai")
        assert demo.name == "Captain Mira Vale" and demo.first_message
        assert len(demo.alternate_greetings) == 2 and demo.scenario and demo.example_dialogue
        mine = await character_card(session, caller, uuid.UUID(persona["id"]), role="user")
        assert mine.role == "user" and mine.name == "Me"

        for who, character_id, role in (
            (caller, uuid.UUID(persona["id"]), "ai"),  # a persona is not an AI character
            (stranger, uuid.UUID(persona["id"]), "user"),  # someone else's private persona
            (caller, DEMO_PERSONA_ID, "user"),  # the admin's private persona
            (caller, uuid.uuid4(), "ai"),
        ):
            with pytest.raises(ApiError) as missing:
                await character_card(session, who, character_id, role=role)  # type: ignore[arg-type]
            assert missing.value.status == 404

        summaries = await character_summaries(
            session, [DEMO_CHARACTER_ID, uuid.UUID(persona["id"]), uuid.uuid4()]
        )
        assert summaries[DEMO_CHARACTER_ID] == {
            "id": str(DEMO_CHARACTER_ID),
            "name": "Captain Mira Vale",
            "image_url": None,
        }
        assert len(summaries) == 2
        assert await character_summaries(session, []) == {}
