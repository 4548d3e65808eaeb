"""Character Cards through the API: real cards in, every field out again, art as the
portrait, CHARX assets kept in object storage, warnings for what was mended."""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, PngImagePlugin

from roleplay_common.storage import PORTRAITS
from roleplay_gateway.characters.cards import png_chunks
from tests.gateway.conftest import Caller, Gateway, NewCaller, assert_error

FIXTURES = Path(__file__).parents[2] / "fixtures" / "cards"
SERAPHINA = (FIXTURES / "seraphina_v2.png").read_bytes()
KEEPER = (FIXTURES / "keeper_v3.json").read_bytes()
# Differ between two imports of the same card by nature, not by loss.
OWN = {"id", "created_at", "updated_at", "lorebook_id", "image_url", "modification_date"}


async def import_card(user: Caller, name: str, content: bytes) -> dict[str, Any]:
    response = await user.post("/v1/characters/import", files={"file": (name, content)})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def export(user: Caller, character_id: str, **params: Any) -> httpx.Response:
    response = await user.get(f"/v1/characters/{character_id}/export", params=params)
    assert response.status_code == 200, response.text
    return response


async def book_of(user: Caller, character: dict[str, Any]) -> dict[str, Any]:
    response = await user.get(f"/v1/lorebooks/{character['lorebook_id']}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def same_character(first: dict[str, Any], second: dict[str, Any]) -> None:
    for key, value in first.items():
        if key in OWN or key == "warnings":
            continue
        if key == "creation_date" and value is None:  # export dates a card that had none
            assert isinstance(second[key], int)
            continue
        assert second[key] == value, key


def same_book(first: dict[str, Any], second: dict[str, Any]) -> None:
    for key in ("name", "description", "scan_depth", "token_budget", "recursive_scanning"):
        assert second[key] == first[key], key
    assert second["extensions"] == first["extensions"]
    assert second["entries"] == first["entries"]


async def test_seraphina_round_trips_through_png_json_and_charx(new_user: NewCaller) -> None:
    user = await new_user()
    seraphina = await import_card(user, "default_Seraphina.png", SERAPHINA)
    assert seraphina["warnings"] == []
    assert seraphina["creator"] == "OtisAlejandro" and seraphina["character_version"] == "1.0.0"
    assert seraphina["creator_notes"].startswith("ST Default Bot contest winner")
    assert seraphina["extensions"] == {"talkativeness": "0.5", "fav": False, "world": "Eldoria"}
    assert seraphina["image_url"] == f"/v1/characters/{seraphina['id']}/portrait"
    portrait = await user.get(seraphina["image_url"])
    assert portrait.status_code == 307
    book = await book_of(user, seraphina)
    assert book["name"] == "Eldoria" and len(book["entries"]) == 4

    png = (await export(user, seraphina["id"], format="png")).content
    texts = png_chunks.read_text_chunks(png)
    assert {"ccv3", "chara"} <= set(texts)
    assert Image.open(io.BytesIO(png)).size == (400, 600)
    for name, content in (
        ("again.png", png),
        ("again.json", (await export(user, seraphina["id"], version=3)).content),
        ("again.charx", (await export(user, seraphina["id"], format="charx")).content),
    ):
        again = await import_card(user, name, content)
        assert again["warnings"] == [], name
        if name == "again.charx":  # the portrait travels as the CHARX's main icon
            icon = again["assets"].pop(0)
            assert icon["type"] == "icon" and icon["uri"].startswith("embeded://")
        same_character(seraphina, again)
        same_book(book, await book_of(user, again))
        assert (again["image_url"] is not None) == (name != "again.json"), name


async def test_the_v3_card_keeps_every_field(new_user: NewCaller) -> None:
    user = await new_user()
    keeper = await import_card(user, "keeper.json", KEEPER)
    original = json.loads(KEEPER)["data"]
    assert keeper["nickname"] == "Maren" and keeper["source"] == original["source"]
    assert keeper["group_only_greetings"] == original["group_only_greetings"]
    assert keeper["creator_notes_multilingual"] == original["creator_notes_multilingual"]
    assert keeper["post_history_instructions"] == original["post_history_instructions"]
    assert keeper["creation_date"] == original["creation_date"]
    exported = (await export(user, keeper["id"], version=3)).json()["data"]
    assert json.dumps(exported["extensions"]) == json.dumps(original["extensions"])
    assert exported["x_future_field"] == {"kept": True}
    assert exported["assets"] == original["assets"]
    entries = exported["character_book"]["entries"]
    assert entries[1]["content"].startswith("@@depth 2")
    backfill = (await export(user, keeper["id"])).json()["data"]
    assert "@@" not in backfill["character_book"]["entries"][1]["content"]


async def test_charx_assets_are_kept_in_object_storage(
    new_user: NewCaller, gateway: Gateway
) -> None:
    user = await new_user()
    icon = io.BytesIO()
    Image.new("RGB", (10, 14), (3, 4, 5)).save(icon, format="PNG")
    card = json.loads(KEEPER)
    card["data"]["assets"] = [
        {
            "type": "icon",
            "uri": "embeded://assets/icon/images/main.png",
            "name": "main",
            "ext": "png",
        },
        {
            "type": "emotion",
            "uri": "embeded://assets/emotion/audio/sigh.ogg",
            "name": "sigh",
            "ext": "ogg",
        },
    ]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("card.json", json.dumps(card))
        z.writestr("assets/icon/images/main.png", icon.getvalue())
        z.writestr("assets/emotion/audio/sigh.ogg", b"OggS fake audio")
    keeper = await import_card(user, "keeper.charx", archive.getvalue())
    assert keeper["assets"] == card["data"]["assets"] and keeper["image_url"]
    key = f"{keeper['id']}/assets/assets/emotion/audio/sigh.ogg"
    assert (await gateway.runtime.storage.get(PORTRAITS, key)).data == b"OggS fake audio"

    exported = (await export(user, keeper["id"], format="charx")).content
    with zipfile.ZipFile(io.BytesIO(exported)) as z:
        assert z.read("assets/emotion/audio/sigh.ogg") == b"OggS fake audio"
        assert z.read("assets/icon/images/main.png") == icon.getvalue()
        assert json.loads(z.read("card.json"))["data"]["assets"] == card["data"]["assets"]

    assert (await user.delete(f"/v1/characters/{keeper['id']}")).status_code == 204
    assert not await gateway.runtime.storage.exists(PORTRAITS, key)
    assert_error(await user.get(f"/v1/lorebooks/{keeper['lorebook_id']}"), 404)


async def test_png_asset_chunks_come_back_in_png_and_charx_exports(new_user: NewCaller) -> None:
    user = await new_user()
    card = json.loads(KEEPER)
    card["data"]["assets"] = [
        {"type": "emotion", "uri": "__asset:0", "name": "joy", "ext": "webp"},
    ]
    info = PngImagePlugin.PngInfo()
    info.add_text("ccv3", base64.b64encode(json.dumps(card).encode()).decode())
    info.add_text("chara-ext-asset_:0", base64.b64encode(b"RIFF joy WEBP").decode())
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG", pnginfo=info)
    keeper = await import_card(user, "keeper.png", png.getvalue())

    exported = (await export(user, keeper["id"], format="png")).content
    texts = png_chunks.read_text_chunks(exported)
    assert base64.b64decode(texts["chara-ext-asset_:0"]) == b"RIFF joy WEBP"
    assert json.loads(base64.b64decode(texts["ccv3"]))["data"]["assets"] == card["data"]["assets"]

    archive = (await export(user, keeper["id"], format="charx")).content
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert z.read("assets/emotion/images/0.webp") == b"RIFF joy WEBP"
        assets = json.loads(z.read("card.json"))["data"]["assets"]
    assert {"type": "emotion", "uri": "embeded://assets/emotion/images/0.webp"}.items() <= (
        next(a for a in assets if a["name"] == "joy").items()
    )


async def test_untidy_cards_import_with_warnings(new_user: NewCaller) -> None:
    user = await new_user()
    card = {
        "spec": "chara_card_v2",
        "data": {
            "name": "",
            "description": "x" * 120_000,
            "alternate_greetings": "Hello.",
            "tags": ["ok", 7],
            "character_book": None,
        },
    }
    imported = await import_card(user, "Nameless One.json", json.dumps(card).encode())
    assert imported["name"] == "Nameless One"
    assert len(imported["description"]) == 100_000
    assert imported["alternate_greetings"] == ["Hello."] and imported["tags"] == ["ok", "7"]
    assert imported["lorebook_id"] is None
    assert len(imported["warnings"]) == 4, imported["warnings"]


async def test_what_an_import_keeps_a_patch_accepts(new_user: NewCaller) -> None:
    user = await new_user()
    card = {
        "spec": "chara_card_v2",
        "data": {
            "name": "Long",
            "description": "d" * 60_000,
            "alternate_greetings": [f"Hello {i}" for i in range(120)],
            "creator": "c" * 600,
        },
    }
    imported = await import_card(user, "long.json", json.dumps(card).encode())
    assert len(imported["description"]) == 60_000 and len(imported["alternate_greetings"]) == 120
    assert len(imported["creator"]) == 500  # the character's own bound, with a warning
    assert len(imported["warnings"]) == 1
    edited = {
        "description": imported["description"] + " more",
        "alternate_greetings": [*imported["alternate_greetings"], "One more"],
        "creator": imported["creator"],
    }
    patched = await user.patch(f"/v1/characters/{imported['id']}", json=edited)
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"].endswith(" more")
    assert len(patched.json()["alternate_greetings"]) == 121
    too_long = await user.patch(
        f"/v1/characters/{imported['id']}", json={"description": "d" * 100_001}
    )
    assert_error(too_long, 422, "validation_error")


async def test_a_pygmalion_card_imports(new_user: NewCaller) -> None:
    user = await new_user()
    card = {
        "char_name": "Old Bot",
        "char_persona": "A keeper of few words.",
        "world_scenario": "Night.",
        "char_greeting": "Who goes there?",
        "example_dialogue": "<START>\n{{char}}: Hm.",
    }
    imported = await import_card(user, "old.json", json.dumps(card).encode())
    assert (imported["name"], imported["description"], imported["scenario"]) == (
        "Old Bot",
        "A keeper of few words.",
        "Night.",
    )
    assert imported["first_message"] == "Who goes there?"
    assert imported["example_dialogue"] == "<START>\n{{char}}: Hm."
    assert len(imported["warnings"]) == 1 and "Pygmalion" in imported["warnings"][0]


async def test_a_retried_import_creates_one_character(new_user: NewCaller) -> None:
    user = await new_user()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await user.post(
        "/v1/characters/import", files={"file": ("s.png", SERAPHINA)}, headers=key
    )
    second = await user.post(
        "/v1/characters/import", files={"file": ("s.png", SERAPHINA)}, headers=key
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["lorebook_id"] == second.json()["lorebook_id"]
