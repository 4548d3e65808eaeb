"""Lorebooks through the API: owner-only changes, public reading, import and export in the
contract's formats, and who may attach which book."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.conftest import Caller, NewCaller, assert_error

FIXTURES = Path(__file__).parents[2] / "fixtures" / "cards"
ELDORIA = (FIXTURES / "eldoria_worldinfo.json").read_bytes()
KEEPER = json.loads((FIXTURES / "keeper_v3.json").read_text())

ENTRY = {
    "keys": ["harbour"],
    "secondary_keys": ["night"],
    "selective_logic": "and_all",
    "content": "The harbour lights go out at midnight.",
    "position": "at_depth",
    "depth": 2,
    "role": "system",
    "match_whole_words": True,
    "probability": 50,
}


async def create(user: Caller, **body: Any) -> dict[str, Any]:
    response = await user.post("/v1/lorebooks", json={"name": "Harbour", **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_lorebooks_are_created_read_changed_and_deleted_by_their_owner(
    new_user: NewCaller,
) -> None:
    owner: Caller = await new_user()
    other: Caller = await new_user()
    book = await create(owner, entries=[ENTRY, {"content": "only content"}], token_budget=500)
    assert book["entries"][1]["keys"] == [] and book["entries"][1]["id"]
    entry = book["entries"][0]
    assert entry["id"] and {k: entry[k] for k in ENTRY} == ENTRY
    assert entry["enabled"] and entry["insertion_order"] == 100 and entry["extensions"] == {}
    assert (await owner.get(f"/v1/lorebooks/{book['id']}")).json() == book

    # Private: a 404 to anyone else, for reading as for changing.
    for method, kwargs in (("get", {}), ("patch", {"json": {"name": "x"}}), ("delete", {})):
        assert_error(await getattr(other, method)(f"/v1/lorebooks/{book['id']}", **kwargs), 404)
    assert_error(await other.get(f"/v1/lorebooks/{book['id']}/export"), 404)

    changed = await owner.patch(
        f"/v1/lorebooks/{book['id']}",
        json={
            "visibility": "public",
            "entries": [{**ENTRY, "enabled": False}],
            "token_budget": None,
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["token_budget"] is None and not changed.json()["entries"][0]["enabled"]
    # Public: anyone reads it, only its owner changes it.
    assert (await other.get(f"/v1/lorebooks/{book['id']}")).status_code == 200
    assert_error(await other.patch(f"/v1/lorebooks/{book['id']}", json={"name": "x"}), 404)
    mine = (await owner.get("/v1/lorebooks", params={"scope": "mine"})).json()["items"]
    assert [b["id"] for b in mine] == [book["id"]]
    public = (await other.get("/v1/lorebooks", params={"scope": "public"})).json()["items"]
    assert book["id"] in [b["id"] for b in public]

    assert (await owner.delete(f"/v1/lorebooks/{book['id']}")).status_code == 204
    assert_error(await owner.get(f"/v1/lorebooks/{book['id']}"), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x", "entries": [{"probability": 101}]},
        {"name": "x", "entries": [{"position": "middle"}]},
        {"name": "x", "entries": [{"content": "a\u0000b"}]},
        {"name": "x", "visibility": "everyone"},
        {"name": "x", "entries": [{"keys": ["k" * 501]}]},
    ],
)
async def test_invalid_lorebooks_are_422(new_user: NewCaller, body: dict[str, Any]) -> None:
    user: Caller = await new_user()
    assert_error(await user.post("/v1/lorebooks", json=body), 422)


async def test_world_info_imports_and_exports_in_both_formats(new_user: NewCaller) -> None:
    user: Caller = await new_user()
    response = await user.post("/v1/lorebooks/import", files={"file": ("Eldoria.json", ELDORIA)})
    assert response.status_code == 201, response.text
    book = response.json()
    assert book["name"] == "Eldoria" and book["warnings"] == []
    assert len(book["entries"]) == 4 and book["entries"][3]["keys"] == ["power", "magic", "ability"]

    sillytavern = await user.get(
        f"/v1/lorebooks/{book['id']}/export", params={"format": "sillytavern"}
    )
    assert (
        sillytavern.status_code == 200
        and "attachment" in sillytavern.headers["content-disposition"]
    )
    original = json.loads(ELDORIA)["entries"]
    for uid, entry in original.items():
        for key, value in entry.items():
            assert sillytavern.json()["entries"][uid][key] == value, (uid, key)

    v3 = (await user.get(f"/v1/lorebooks/{book['id']}/export")).json()
    assert v3["spec"] == "lorebook_v3" and len(v3["data"]["entries"]) == 4
    again = await user.post(
        "/v1/lorebooks/import", files={"file": ("again.json", json.dumps(v3).encode())}
    )
    assert again.status_code == 201 and again.json()["entries"] == book["entries"]


async def test_a_cards_book_imports_as_a_lorebook(new_user: NewCaller) -> None:
    user: Caller = await new_user()
    book = KEEPER["data"]["character_book"]
    response = await user.post(
        "/v1/lorebooks/import", files={"file": ("book.json", json.dumps(book).encode())}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["name"], body["scan_depth"], body["token_budget"]) == ("Gull Rock", 6, 800)
    assert body["entries"][2]["position"] == "at_depth" and body["entries"][2]["use_regex"]


@pytest.mark.parametrize(
    "content", [b"not json", b"[]", b"{}", b'{"entries": 3}', b'{"spec": "lorebook_v3", "data": 1}']
)
async def test_what_is_no_lorebook_is_422(new_user: NewCaller, content: bytes) -> None:
    user: Caller = await new_user()
    response = await user.post("/v1/lorebooks/import", files={"file": ("x.json", content)})
    assert_error(response, 422, "malformed_lorebook")


async def test_personas_attach_only_books_their_owner_may_see(new_user: NewCaller) -> None:
    owner: Caller = await new_user()
    other: Caller = await new_user()
    mine = await create(owner)
    theirs = await create(other)
    persona = await owner.post(
        "/v1/characters", json={"name": "Me", "role": "user", "lorebook_ids": [mine["id"]]}
    )
    assert persona.status_code == 201, persona.text
    assert persona.json()["lorebook_ids"] == [mine["id"]]
    assert_error(
        await owner.patch(
            f"/v1/characters/{persona.json()['id']}", json={"lorebook_ids": [theirs["id"]]}
        ),
        404,
    )
    assert_error(
        await owner.post(
            "/v1/characters", json={"name": "X", "role": "ai", "lorebook_id": theirs["id"]}
        ),
        404,
    )
