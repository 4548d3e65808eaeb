"""Character Card V1/V2/V3 (the community's card formats): import from JSON or PNG, export.

A PNG card carries the card as base64 JSON in a `tEXt` chunk: `chara` (V2) or `ccv3` (V3).
Fields of ours with no place in the spec travel in `data.extensions.roleplay`.

Parsing is bounded: the upload's size by the route, the JSON's nesting by
`roleplay_common.text.MAX_JSON_DEPTH` (a deeper card, or one too deep for the parser, is
malformed), a PNG's pixels by `images.MAX_PIXELS`. Everything here is synchronous CPU work;
routes run it in a thread.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from typing import Any

from PIL import Image, PngImagePlugin

from roleplay_common.text import check_json_tree
from roleplay_gateway.characters.images import UnreadableImageError, open_image
from roleplay_gateway.characters.schemas import CharacterCreate
from roleplay_gateway.characters.store import Character


class MalformedCardError(ValueError):
    pass


def read_card(filename: str, data: bytes) -> dict[str, Any]:
    """The card's JSON object, from a JSON file or a PNG with an embedded card."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return _from_png(data)
    return _json_object(data, f"{filename or 'the file'} is neither a PNG nor JSON")


def _from_png(data: bytes) -> dict[str, Any]:
    try:
        image = open_image(data)
    except UnreadableImageError as exc:
        raise MalformedCardError(f"the PNG cannot be read: {exc}") from exc
    text: dict[str, str] = dict(getattr(image, "text", {}) or {})
    raw = text.get("ccv3") or text.get("chara")
    if raw is None:
        raise MalformedCardError("the PNG has no `chara` or `ccv3` card chunk")
    try:
        decoded = base64.b64decode(raw, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise MalformedCardError("the PNG's card chunk is not base64 JSON") from exc
    return _json_object(decoded, "the PNG's card chunk is not base64 JSON")


def _json_object(data: bytes, not_json: str) -> dict[str, Any]:
    try:
        card = json.loads(data)
    except RecursionError as exc:
        raise MalformedCardError("the card nests too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedCardError(not_json) from exc
    if not isinstance(card, dict):
        raise MalformedCardError("the card must be a JSON object")
    try:
        check_json_tree(card)
    except ValueError as exc:
        raise MalformedCardError(f"the card's JSON {exc}") from exc
    return card


def to_character(card: dict[str, Any]) -> CharacterCreate:
    """Map a V1, V2 or V3 card to our fields (validated like a create request)."""
    spec = card.get("spec")
    data: dict[str, Any]
    if spec in ("chara_card_v2", "chara_card_v3"):
        inner = card.get("data")
        if not isinstance(inner, dict):
            raise MalformedCardError("the card has no `data` object")
        data = inner
    elif "name" in card:
        data = card
    else:
        raise MalformedCardError("unknown card format (expected chara_card_v2 or chara_card_v3)")
    extensions = data.get("extensions")
    extensions = extensions if isinstance(extensions, dict) else {}
    ours = extensions.get("roleplay")
    ours = ours if isinstance(ours, dict) else {}
    values: dict[str, Any] = {
        "name": data.get("name"),
        "role": "ai",
        "description": data.get("description") or "",
        "persona": data.get("personality") or "",
        "scenario": data.get("scenario") or "",
        "first_message": data.get("first_mes") or "",
        "example_dialogue": data.get("mes_example") or "",
        "system_prompt": data.get("system_prompt") or "",
        "alternate_greetings": data.get("alternate_greetings") or [],
        "tags": data.get("tags") or [],
        **{k: v for k, v in ours.items() if k in CharacterCreate.model_fields},
    }
    from pydantic import ValidationError

    try:
        return CharacterCreate.model_validate(values)
    except ValidationError as exc:
        raise MalformedCardError(f"the card's fields are not valid: {exc.errors()[:3]}") from exc


def to_card(character: Character, *, version: int = 2) -> dict[str, Any]:
    data = {
        "name": character.name,
        "description": character.description,
        "personality": character.persona,
        "scenario": character.scenario,
        "first_mes": character.first_message,
        "mes_example": character.example_dialogue,
        "creator_notes": character.creator_notes,
        "system_prompt": character.system_prompt,
        "post_history_instructions": "",
        "alternate_greetings": list(character.alternate_greetings),
        "tags": list(character.tags),
        "creator": character.creator,
        "character_version": "1",
        "extensions": {
            "roleplay": {
                "content_rating": character.content_rating,
                "appearance_tags": list(character.appearance_tags),
                "scene_behavior_rules": dict(character.scene_behavior_rules),
                "consistency_method": character.consistency_method,
            }
        },
    }
    if version == 3:
        data.update({"nickname": "", "group_only_greetings": [], "assets": []})
        return {"spec": "chara_card_v3", "spec_version": "3.0", "data": data}
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": data}


def card_png(card: dict[str, Any], portrait: bytes | None) -> bytes:
    """A PNG (the portrait, or a plain placeholder) with the card embedded."""
    image: Image.Image | None = None
    if portrait:
        try:
            image = open_image(portrait)
        except UnreadableImageError:
            image = None
    if image is None:
        image = Image.new("RGB", (400, 600), (40, 44, 52))
    info = PngImagePlugin.PngInfo()
    encoded = base64.b64encode(json.dumps(card).encode()).decode()
    info.add_text("ccv3" if card.get("spec") == "chara_card_v3" else "chara", encoded)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()
