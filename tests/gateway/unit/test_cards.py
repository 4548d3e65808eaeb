"""Character Cards V1/V2/V3 at full fidelity: read from JSON, PNG/APNG and CHARX, mapped to
our fields leniently, written back as V3, a V2 backfill, PNG and CHARX.

Fixtures (`tests/fixtures/cards/`, origin and license in its README): SillyTavern's default
card Seraphina (a V2 PNG with a 4-entry book) and a V3 card written to the V3 spec."""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from roleplay_gateway.characters import card_import, cards
from roleplay_gateway.characters.cards import png_chunks
from roleplay_gateway.characters.store import Character
from roleplay_gateway.import_warnings import ImportWarnings
from roleplay_gateway.lorebooks.card_books import BookData
from tests.gateway.conftest import bomb

FIXTURES = Path(__file__).parents[2] / "fixtures" / "cards"
SERAPHINA = (FIXTURES / "seraphina_v2.png").read_bytes()
KEEPER = json.loads((FIXTURES / "keeper_v3.json").read_text())
DATES = ("creation_date", "modification_date")


def embedded(card: dict[str, Any], chunk: str = "chara", image: bytes | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text(chunk, base64.b64encode(json.dumps(card).encode()).decode())
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def chunks(data: bytes) -> dict[str, Any]:
    return {
        k: json.loads(base64.b64decode(v))
        for k, v in png_chunks.read_text_chunks(data).items()
        if k in ("chara", "ccv3")
    }


def imported(filename: str, data: bytes) -> tuple[Character, BookData | None, list[str]]:
    result = card_import.read(filename, data)
    character = Character(id=uuid.uuid4(), owner_id=uuid.uuid4(), **result.fields.values)
    return character, result.fields.book, result.warnings.as_list()


def fields_of(filename: str, data: bytes) -> dict[str, Any]:
    return card_import.read(filename, data).fields.values


def same_fields(first: dict[str, Any], second: dict[str, Any]) -> None:
    for key, value in first.items():
        if key not in DATES:
            assert second[key] == value, key


def test_seraphina_imports_with_everything_she_carries() -> None:
    character, book, warnings = imported("default_Seraphina.png", SERAPHINA)
    assert warnings == []
    assert character.name == "Seraphina" and character.creator == "OtisAlejandro"
    assert character.creator_notes == "ST Default Bot contest winner: roleplay bots category"
    assert character.character_version == "1.0.0"
    assert character.extensions == {"talkativeness": "0.5", "fav": False, "world": "Eldoria"}
    assert book is not None and book.name == "Eldoria" and len(book.entries) == 4
    assert book.entries[0].keys == ["eldoria", "wood", "forest", "magical forest"]
    assert book.entries[0].extensions == {
        "position": 0,
        "probability": None,
        "useProbability": False,
    }
    # Her art is the portrait.
    result = card_import.read("default_Seraphina.png", SERAPHINA)
    assert result.portrait is not None and result.portrait[1] == "png"
    assert Image.open(io.BytesIO(result.portrait[0])).size == (400, 600)


@pytest.mark.parametrize("source", ["seraphina", "keeper"])
def test_every_field_survives_import_export_import_as_png_json_and_charx(source: str) -> None:
    if source == "seraphina":
        name, data = "s.png", SERAPHINA
    else:
        name, data = "k.json", json.dumps(KEEPER).encode()
    character, book, _ = imported(name, data)
    first = fields_of(name, data)
    v3 = cards.to_card(character, book)
    v2 = cards.to_card(character, book, version=2)
    png = cards.card_png(v3, v2, SERAPHINA if source == "seraphina" else None)
    archive = cards.card_charx(v3, {}, None)
    for again_name, again in (
        ("a.png", png),
        ("a.json", json.dumps(v3).encode()),
        ("a.charx", archive),
    ):
        second = card_import.read(again_name, again)
        same_fields(first, second.fields.values)
        assert second.fields.book == book, again_name
        assert second.warnings.as_list() == []


def test_the_v3_fixture_exports_what_it_imported() -> None:
    character, book, _ = imported("k.json", json.dumps(KEEPER).encode())
    original = KEEPER["data"]
    exported = cards.to_card(character, book)["data"]
    for key, value in original.items():
        if key in ("character_book", "modification_date"):
            continue
        assert exported[key] == value, key
    # Unknown extensions round-trip byte for byte, key order included.
    assert json.dumps(exported["extensions"]) == json.dumps(original["extensions"])
    assert exported["x_future_field"] == {"kept": True}
    book_out = exported["character_book"]
    for key in ("name", "description", "scan_depth", "token_budget", "recursive_scanning"):
        assert book_out[key] == original["character_book"][key]
    assert json.dumps(book_out["extensions"]) == json.dumps(
        original["character_book"]["extensions"]
    )
    for before, after in zip(
        original["character_book"]["entries"], book_out["entries"], strict=True
    ):
        for key, value in before.items():
            if key == "extensions":
                assert json.dumps(after[key]) == json.dumps(value)
            else:
                assert after[key] == value, (before["id"], key)


def test_the_contract_fields_of_entries_come_from_sillytavern_extensions() -> None:
    _, book, _ = imported("k.json", json.dumps(KEEPER).encode())
    assert book is not None
    lens, wreck, fog, constant = book.entries
    assert lens.match_whole_words and lens.probability == 100 and lens.priority == 5
    assert wreck.case_sensitive and wreck.position == "after_char" and wreck.selective
    assert wreck.content.startswith("@@depth 2\n")
    assert (fog.position, fog.depth, fog.role, fog.use_regex) == ("at_depth", 3, "user", True)
    assert constant.constant and constant.keys == []


def test_png_export_writes_a_real_v3_and_a_v2_backfill_without_decorators() -> None:
    character, book, _ = imported("k.json", json.dumps(KEEPER).encode())
    png = cards.card_png(
        cards.to_card(character, book), cards.to_card(character, book, version=2), None
    )
    found = chunks(png)
    assert found["ccv3"]["spec"] == "chara_card_v3" and found["ccv3"]["data"]["nickname"] == "Maren"
    assert found["ccv3"]["data"]["group_only_greetings"]
    assert found["chara"]["spec"] == "chara_card_v2" and "nickname" not in found["chara"]["data"]
    v3_entry = found["ccv3"]["data"]["character_book"]["entries"][1]
    v2_entry = found["chara"]["data"]["character_book"]["entries"][1]
    assert "@@depth 2" in v3_entry["content"]
    assert "@@" not in v2_entry["content"] and v2_entry["content"].startswith("The *Alba*")
    assert Image.open(io.BytesIO(png)).size == (400, 600)


def test_an_apng_portrait_stays_animated_and_carries_the_card() -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, format="PNG", save_all=True, append_images=frames[1:])
    apng = out.getvalue()
    character, book, _ = imported("k.json", json.dumps(KEEPER).encode())
    png = cards.card_png(
        cards.to_card(character, book), cards.to_card(character, book, version=2), apng
    )
    assert getattr(Image.open(io.BytesIO(png)), "n_frames", 1) == 2
    again, _, warnings = imported("again.png", png)
    assert again.nickname == "Maren" and warnings == []


def test_charx_keeps_assets_and_the_portrait_becomes_its_icon() -> None:
    icon = io.BytesIO()
    Image.new("RGB", (12, 20), (9, 9, 9)).save(icon, format="PNG")
    card = json.loads(json.dumps(KEEPER))
    card["data"]["assets"] = [
        {
            "type": "icon",
            "uri": "embeded://assets/icon/images/main.png",
            "name": "main",
            "ext": "png",
        },
        {
            "type": "emotion",
            "uri": "embeded://assets/emotion/images/joy.webp",
            "name": "joy",
            "ext": "webp",
        },
    ]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("card.json", json.dumps(card))
        z.writestr("assets/icon/images/main.png", icon.getvalue())
        z.writestr("assets/emotion/images/joy.webp", b"RIFF....WEBP")
        z.writestr("x_app.json", "{}")
    result = card_import.read("maren.charx", archive.getvalue())
    assert set(result.files) == {
        "assets/icon/images/main.png",
        "assets/emotion/images/joy.webp",
        "x_app.json",
    }
    assert result.portrait is not None and result.portrait[0] == icon.getvalue()
    assert result.fields.values["assets"] == card["data"]["assets"]
    # Exported: card.json plus the files; a card without an embedded icon gets the portrait.
    character, book, _ = imported("k.json", json.dumps(KEEPER).encode())
    out = cards.card_charx(cards.to_card(character, book), {"x/y.bin": b"1"}, icon.getvalue())
    with zipfile.ZipFile(io.BytesIO(out)) as z:
        assert set(z.namelist()) == {"card.json", "x/y.bin", "assets/icon/images/main.png"}
        written = json.loads(z.read("card.json"))
    assert written["data"]["assets"][0]["uri"] == "embeded://assets/icon/images/main.png"


def png_with_asset_chunks() -> tuple[bytes, dict[str, Any]]:
    card = json.loads(json.dumps(KEEPER))
    card["data"]["assets"] = [
        {"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"},
        {"type": "emotion", "uri": "__asset:0", "name": "joy", "ext": "webp"},
        {"type": "x_voice", "uri": "__asset:1", "name": "hum", "ext": "ogg"},
    ]
    info = PngImagePlugin.PngInfo()
    info.add_text("ccv3", base64.b64encode(json.dumps(card).encode()).decode())
    info.add_text("chara-ext-asset_:0", base64.b64encode(b"RIFF joy WEBP").decode())
    info.add_text("chara-ext-asset_1", base64.b64encode(b"OggS hum").decode())
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG", pnginfo=info)
    return out.getvalue(), card


def test_png_asset_chunks_are_written_back_and_moved_into_a_charx() -> None:
    png, card = png_with_asset_chunks()
    result = card_import.read("maren.png", png)
    files = {"__asset:0": b"RIFF joy WEBP", "__asset:1": b"OggS hum"}
    assert result.files == files
    character, book, _ = imported("maren.png", png)
    v3, v2 = cards.to_card(character, book), cards.to_card(character, book, version=2)

    exported = cards.card_png(v3, v2, png, files)
    texts = png_chunks.read_text_chunks(exported)
    assert base64.b64decode(texts["chara-ext-asset_:0"]) == b"RIFF joy WEBP"
    again = card_import.read("again.png", exported)
    assert again.files == files
    assert again.fields.values["assets"] == card["data"]["assets"]

    archive = cards.card_charx(v3, files, png)
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert z.read("assets/emotion/images/0.webp") == b"RIFF joy WEBP"
        assert z.read("assets/x_voice/audio/1.ogg") == b"OggS hum"
        uris = [a["uri"] for a in json.loads(z.read("card.json"))["data"]["assets"]]
    assert uris[1:] == [
        "embeded://assets/emotion/images/0.webp",
        "embeded://assets/x_voice/audio/1.ogg",
    ]
    from_charx = card_import.read("again.charx", archive)
    assert from_charx.files["assets/emotion/images/0.webp"] == b"RIFF joy WEBP"
    assert v3["data"]["assets"][1]["uri"] == "__asset:0"  # the card itself is left as it was


def test_a_nameless_card_is_named_after_its_file() -> None:
    for filename, name in (
        ("dir/Old Sailor.card.json", "Old Sailor.card"),
        ("C:\\cards\\Gull.png.json", "Gull.png"),
        ("bad\x00name.json", "Unnamed character"),
        ("", "Unnamed character"),
    ):
        assert fields_of(filename, json.dumps(v2(name="  ")).encode())["name"] == name


def test_a_v1_flat_card_imports() -> None:
    flat = {"name": "Plain", "first_mes": "Hi", "personality": "calm", "char_persona": "x"}
    values = fields_of("pyg.json", json.dumps(flat).encode())
    assert (values["name"], values["first_message"], values["persona"]) == ("Plain", "Hi", "calm")


PYGMALION = {
    "char_name": "Old Bot",
    "char_persona": "A lighthouse keeper of few words.",
    "world_scenario": "{{user}} knocks at night.",
    "char_greeting": "Who goes there?",
    "example_dialogue": "<START>\n{{char}}: Hm.",
    "x_tool": "kept",
}


def test_a_pygmalion_card_imports_with_a_warning_naming_the_format() -> None:
    result = card_import.read("old.json", json.dumps(PYGMALION).encode())
    values = result.fields.values
    assert (values["name"], values["description"], values["scenario"]) == (
        "Old Bot",
        "A lighthouse keeper of few words.",
        "{{user}} knocks at night.",
    )
    assert (values["first_message"], values["example_dialogue"]) == (
        "Who goes there?",
        "<START>\n{{char}}: Hm.",
    )
    [warning] = result.warnings.as_list()
    assert "Pygmalion" in warning and "char_persona" in warning
    character = Character(id=uuid.uuid4(), owner_id=uuid.uuid4(), **values)
    data = cards.to_card(character, None)["data"]
    assert data["name"] == "Old Bot" and data["x_tool"] == "kept"
    assert not {"char_name", "char_persona", "char_greeting"} & set(data)
    # A V1 field present wins; its Pygmalion twin stays as an unknown field.
    both = card_import.read("x.json", json.dumps({**PYGMALION, "name": "New"}).encode())
    assert both.fields.values["name"] == "New"
    assert both.fields.values["card_extra"]["data"]["char_name"] == "Old Bot"


def v2(**data: Any) -> dict[str, Any]:
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Q", **data}}


@pytest.mark.parametrize(
    ("card", "check", "warns"),
    [
        (v2(character_book=None), lambda r: r.fields.book is None, False),
        (
            v2(alternate_greetings="Hello there"),
            lambda r: r.fields.values["alternate_greetings"] == ["Hello there"],
            True,
        ),
        (v2(name=""), lambda r: r.fields.values["name"] == "quirk", True),
        (v2(tags=["a", 1, {}]), lambda r: r.fields.values["tags"] == ["a", "1"], True),
        (v2(name=5), lambda r: r.fields.values["name"] == "5", True),
        (
            {**v2(), "character_book": {"entries": [{"keys": ["k"], "content": "c"}]}},
            lambda r: r.fields.book is not None and r.fields.book.entries[0].keys == ["k"],
            True,
        ),
        (
            v2(description="x" * 150_000),
            lambda r: len(r.fields.values["description"]) == 100_000,
            True,
        ),
        (
            {"name": "x", "extensions": {"roleplay": {"content_rating": "everyone"}}},
            lambda r: "content_rating" not in r.fields.values,
            True,
        ),
    ],
)
def test_real_world_quirks_import_with_warnings(
    card: dict[str, Any], check: Any, warns: bool
) -> None:
    result = card_import.read("quirk.json", json.dumps(card).encode())
    assert check(result)
    assert bool(result.warnings.as_list()) == warns, result.warnings.as_list()


def test_ccv3_with_v2_data_and_a_bad_ccv3_falling_back_to_chara() -> None:
    relabelled = {**v2(), "spec": "chara_card_v3"}  # as SillyTavern writes ccv3
    assert fields_of("x.png", embedded(relabelled, "ccv3"))["name"] == "Q"
    info = PngImagePlugin.PngInfo()
    info.add_text("ccv3", "%%% not base64 json %%%")
    info.add_text("chara", base64.b64encode(json.dumps(v2(name="Good")).encode()).decode())
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG", pnginfo=info)
    result = card_import.read("x.png", out.getvalue())
    assert result.fields.values["name"] == "Good"
    assert any("chara" in w for w in result.warnings.as_list())


def two_chunks(ccv3: dict[str, Any], chara: dict[str, Any]) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, card in (("ccv3", ccv3), ("chara", chara)):
        info.add_text(key, base64.b64encode(json.dumps(card).encode()).decode())
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


@pytest.mark.parametrize(
    "not_a_card",
    [
        {"spec": "chara_card_v3", "spec_version": "3.0"},  # no `data`
        {"spec": "chara_card_v3", "data": "Good"},
        {"spec": "something_else", "data": {"name": "Bad"}},
        {"hello": "world"},
    ],
)
def test_a_ccv3_chunk_that_is_json_but_no_card_falls_back_to_chara(
    not_a_card: dict[str, Any],
) -> None:
    result = card_import.read("x.png", two_chunks(not_a_card, v2(name="Good")))
    assert result.fields.values["name"] == "Good"
    assert any("`ccv3` chunk is not a card" in w for w in result.warnings.as_list())
    with pytest.raises(cards.MalformedCardError):  # with no `chara` to fall back to
        card_import.read("x.png", embedded(not_a_card, "ccv3"))


def test_warnings_are_bounded() -> None:
    result = card_import.read("x.json", json.dumps(v2(tags=[{}] * 150)).encode())
    assert len(result.warnings.as_list()) == 51
    assert ImportWarnings().as_list() == []


def test_our_extensions_round_trip_and_unknown_ones_are_kept() -> None:
    card = v2(
        extensions={
            "depth_prompt": {"prompt": "x", "depth": 4},
            "roleplay": {"content_rating": "nsfw", "scene_behavior_rules": {"pace": "slow"}},
        }
    )
    character, book, _ = imported("x.json", json.dumps(card).encode())
    assert character.content_rating == "nsfw" and character.scene_behavior_rules == {"pace": "slow"}
    character.content_rating = "sfw"
    exported = cards.to_card(character, book)["data"]["extensions"]
    assert list(exported) == ["depth_prompt", "roleplay"]
    assert exported["depth_prompt"] == {"prompt": "x", "depth": 4}
    assert exported["roleplay"]["content_rating"] == "sfw"
    # A card without ours gets none added while ours are the defaults.
    plain, _, _ = imported("y.json", json.dumps(v2(extensions={"a": 1})).encode())
    assert cards.to_card(plain, None)["data"]["extensions"] == {"a": 1}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"plain text",
        b"[]",
        b'"a string"',
        b"{}",
        b'{"spec": "chara_card_v9", "data": {"name": "x"}}',
        b'{"spec": "chara_card_v2", "data": "x"}',
        b"\x89PNG\r\n\x1a\n",
        b"PK\x03\x04broken zip",
        b'{"name": "x", "extensions": {"n": NaN}}',
        b'{"name": "x", "extensions": {"n": -Infinity}}',
        embedded({"name": "x"}, chunk="other"),
        bomb(),
    ],
)
def test_malformed_cards_are_refused(data: bytes) -> None:
    with pytest.raises(cards.MalformedCardError):
        card_import.read("bad", data)


def test_a_charx_zip_bomb_stops_at_the_bound() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("card.json", json.dumps(v2()))
        z.writestr("assets/huge.bin", b"\0" * (17 * 1024 * 1024))
    with pytest.raises(cards.MalformedCardError, match="too large"):
        card_import.read("bomb.charx", archive.getvalue())
