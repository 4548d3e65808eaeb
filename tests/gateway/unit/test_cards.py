"""Character Cards V1/V2/V3: read from JSON or PNG, mapped to our fields, written back."""

from __future__ import annotations

import base64
import io
import json
import uuid
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from roleplay_gateway.characters import cards
from roleplay_gateway.characters.store import Character
from tests.gateway.conftest import bomb


def embedded(card: dict[str, object], chunk: str = "chara") -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text(chunk, base64.b64encode(json.dumps(card).encode()).decode())
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def character(**fields: Any) -> Character:
    values: dict[str, Any] = {
        "owner_id": uuid.uuid4(),
        "role": "ai",
        "name": "Quill",
        "description": "A talking pen.",
        "persona": "pedantic",
        "scenario": "A desk.",
        "first_message": "Hello.",
        "alternate_greetings": ["Hi.", "Yo."],
        "example_dialogue": "Quill: Spell it right.",
        "system_prompt": "Be precise.",
        "tags": ["stationery"],
        "appearance_tags": ["silver nib"],
        "content_rating": "sfw",
        **fields,
    }
    return Character(**values)


def test_a_v2_card_maps_to_our_fields() -> None:
    card = cards.to_card(character())
    assert card["spec"] == "chara_card_v2" and card["spec_version"] == "2.0"
    values = cards.to_character(card)
    assert values.name == "Quill" and values.persona == "pedantic"
    assert values.first_message == "Hello." and values.alternate_greetings == ["Hi.", "Yo."]
    assert values.example_dialogue == "Quill: Spell it right."
    assert values.appearance_tags == ["silver nib"] and values.role == "ai"


def test_a_v3_card_keeps_its_spec_and_travels_in_ccv3() -> None:
    card = cards.to_card(character(), version=3)
    assert card["spec"] == "chara_card_v3" and card["spec_version"] == "3.0"
    data = cards.card_png(card, None)
    image = Image.open(io.BytesIO(data))
    assert "ccv3" in image.text and "chara" not in image.text  # type: ignore[attr-defined]
    assert cards.read_card("card.png", data) == card


def test_a_png_prefers_ccv3_over_chara() -> None:
    v2 = cards.to_card(character(name="Old"))
    v3 = cards.to_card(character(name="New"), version=3)
    info = PngImagePlugin.PngInfo()
    info.add_text("chara", base64.b64encode(json.dumps(v2).encode()).decode())
    info.add_text("ccv3", base64.b64encode(json.dumps(v3).encode()).decode())
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG", pnginfo=info)
    assert cards.to_character(cards.read_card("x.png", out.getvalue())).name == "New"


def test_a_v1_card_is_its_own_data() -> None:
    values = cards.to_character({"name": "Plain", "first_mes": "Hi", "personality": "calm"})
    assert (values.name, values.first_message, values.persona) == ("Plain", "Hi", "calm")


def test_the_portrait_carries_the_card() -> None:
    portrait = io.BytesIO()
    Image.new("RGB", (30, 40), (1, 2, 3)).save(portrait, format="JPEG")
    data = cards.card_png(cards.to_card(character()), portrait.getvalue())
    assert Image.open(io.BytesIO(data)).size == (30, 40)
    assert cards.read_card("x.png", data)["data"]["name"] == "Quill"
    # A portrait that cannot be read gives way to a placeholder.
    for unreadable in (b"not an image", bomb()):
        fallback = cards.card_png(cards.to_card(character()), unreadable)
        assert Image.open(io.BytesIO(fallback)).size == (400, 600)


def test_our_extensions_round_trip_but_unknown_ones_are_ignored() -> None:
    card = cards.to_card(character(content_rating="nsfw", scene_behavior_rules={"pace": "slow"}))
    card["data"]["extensions"]["depth_prompt"] = {"prompt": "x", "depth": 4}
    values = cards.to_character(card)
    assert values.content_rating == "nsfw" and values.scene_behavior_rules == {"pace": "slow"}


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
        b'{"spec": "chara_card_v2", "data": {"name": 5}}',
        b'{"spec": "chara_card_v2", "data": {"name": "x", "tags": [1, {}]}}',
        b'{"name": "x", "extensions": {"roleplay": {"visibility": "everyone"}}}',
        b"\x89PNG\r\n\x1a\n",
        embedded({"name": "x"}, chunk="other"),
        bomb(),
    ],
)
def test_malformed_cards_are_refused(data: bytes) -> None:
    with pytest.raises(cards.MalformedCardError):
        cards.to_character(cards.read_card("bad", data))
