"""A card's JSON (V1 flat, Pygmalion's older flat fields, V2 or V3) to our character's fields,
leniently.

Real cards are untidy: a null book, a string where a list belongs, an empty name, the book
outside `data`, V2 data in a `ccv3` chunk. Each is mended and told back as a warning; only a
file that is no card at all is refused. Nothing is dropped: `extensions` are kept as they
came (ours, `extensions.roleplay`, are read from them too), and fields the spec does not name
are kept in `card_extra` and written back on export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from roleplay_gateway.characters.cards.errors import MalformedCardError
from roleplay_gateway.characters.schemas import (
    CREATOR_MAX,
    LIST_MAX,
    LONG_TEXT_MAX,
    NICKNAME_MAX,
    VERSION_MAX,
    CharacterCreate,
)
from roleplay_gateway.import_warnings import (
    ImportWarnings,
    mapping,
    text,
    text_list,
)
from roleplay_gateway.lorebooks.card_books import BookData, MalformedLorebookError, book_from_card

CARD_TEXT_MAX = LONG_TEXT_MAX
"""Longer than any real card's field; the 8 MiB upload bounds the whole card anyway. The same
bound as a character's PATCH, so what an import keeps can be edited."""
MAX_LIST_ITEMS = LIST_MAX
SHORT_FIELDS = {"nickname": NICKNAME_MAX, "creator": CREATOR_MAX, "character_version": VERSION_MAX}
"""Card text fields with a shorter bound (the character's own)."""
MAX_ASSETS = 500
NAME_MAX = 120
UNNAMED = "Unnamed character"
SPECS = ("chara_card_v2", "chara_card_v3")
V1_FIELDS = ("name", "description", "personality", "scenario", "first_mes", "mes_example")
# Pygmalion's (and other old flat cards') field -> V1's, as SillyTavern reads them.
PYGMALION_FIELDS = {
    "char_name": "name",
    "char_persona": "description",
    "world_scenario": "scenario",
    "char_greeting": "first_mes",
    "example_dialogue": "mes_example",
}
DATA_FIELDS = {
    *V1_FIELDS,
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "alternate_greetings",
    "character_book",
    "tags",
    "creator",
    "character_version",
    "extensions",
    "assets",
    "nickname",
    "creator_notes_multilingual",
    "source",
    "group_only_greetings",
    "creation_date",
    "modification_date",
}
# Card text field -> our column.
TEXT_FIELDS = {
    "description": "description",
    "personality": "persona",
    "scenario": "scenario",
    "first_mes": "first_message",
    "mes_example": "example_dialogue",
    "creator_notes": "creator_notes",
    "system_prompt": "system_prompt",
    "post_history_instructions": "post_history_instructions",
    "creator": "creator",
    "character_version": "character_version",
    "nickname": "nickname",
}
LIST_FIELDS = {
    "alternate_greetings": "alternate_greetings",
    "tags": "tags",
    "group_only_greetings": "group_only_greetings",
    "source": "source",
}
ROLEPLAY_FIELDS = (
    "content_rating",
    "appearance_tags",
    "scene_behavior_rules",
    "consistency_method",
)


@dataclass
class CardFields:
    values: dict[str, Any]
    """Column values of the character (everything but ids, owner and portrait)."""
    book: BookData | None


def card_data(card: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The card's `data` object, and whether it is a V2/V3 card (else V1 flat)."""
    spec = card.get("spec")
    inner = card.get("data")
    if spec in SPECS:
        if not isinstance(inner, dict):
            raise MalformedCardError("the card has no `data` object")
        return inner, True
    if spec is not None and spec != "":
        raise MalformedCardError(f"unknown card format {str(spec)[:40]!r}")
    if isinstance(inner, dict) and any(k in inner for k in V1_FIELDS):
        return inner, True
    flat = with_v1_names(card)
    if any(k in flat for k in V1_FIELDS):
        return flat, False
    raise MalformedCardError("unknown card format (expected chara_card_v2 or chara_card_v3)")


def with_v1_names(card: dict[str, Any]) -> dict[str, Any]:
    """A flat card with its Pygmalion fields under V1's names (where V1's are absent); the card
    itself when it has none to move."""
    moves = {k: v1 for k, v1 in PYGMALION_FIELDS.items() if k in card and v1 not in card}
    if not moves:
        return card
    return {moves.get(k, k): v for k, v in card.items()}


def to_fields(
    card: dict[str, Any], warnings: ImportWarnings, *, fallback_name: str = ""
) -> CardFields:
    data, wrapped = card_data(card)
    if not wrapped and data is not card:
        moved = ", ".join(k for k in PYGMALION_FIELDS if k in card and k not in data)
        warnings.add(f"a Pygmalion (old flat) card: {moved} read as V1's fields")
    values: dict[str, Any] = {"role": "ai", "name": _name(data, warnings, fallback_name)}
    for field, column in TEXT_FIELDS.items():
        limit = SHORT_FIELDS.get(field, CARD_TEXT_MAX)
        values[column] = text(data.get(field), field, warnings, limit=limit)
    for field, column in LIST_FIELDS.items():
        values[column] = text_list(
            data.get(field), field, warnings, limit=CARD_TEXT_MAX, max_items=MAX_LIST_ITEMS
        )
    notes = mapping(data.get("creator_notes_multilingual"), "creator_notes_multilingual", warnings)
    values["creator_notes_multilingual"] = {
        str(k)[:20]: text(v, f"creator_notes_multilingual.{k}", warnings, limit=CARD_TEXT_MAX)
        for k, v in list(notes.items())[:MAX_LIST_ITEMS]
    }
    values["assets"] = _assets(data.get("assets"), warnings)
    for field in ("creation_date", "modification_date"):
        values[field] = _timestamp(data.get(field))
    extensions = mapping(data.get("extensions"), "extensions", warnings)
    values["extensions"] = extensions
    values.update(_ours(extensions, warnings))
    top = {k: v for k, v in card.items() if k not in ("spec", "spec_version", "data", *V1_FIELDS)}
    if not wrapped:
        top = {k: v for k, v in top.items() if k not in DATA_FIELDS}
    values["card_extra"] = {
        "top": top if wrapped else {},
        "data": {k: v for k, v in data.items() if k not in DATA_FIELDS},
    }
    return CardFields(values, _book(card, data, warnings))


def _name(data: dict[str, Any], warnings: ImportWarnings, fallback: str) -> str:
    name = text(data.get("name"), "name", warnings, limit=CARD_TEXT_MAX).strip()
    if not name:
        name = fallback.strip()[:NAME_MAX] or UNNAMED
        warnings.add(f"the card has no name; it is called {name!r}")
    if len(name) > NAME_MAX:
        warnings.add(f"name has {len(name):,} characters; kept the first {NAME_MAX}")
        name = name[:NAME_MAX]
    return name


def _assets(value: Any, warnings: ImportWarnings) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        warnings.add("assets was not a list; it was left empty")
        return []
    if len(value) > MAX_ASSETS:
        warnings.add(f"assets has {len(value)} items; kept the first {MAX_ASSETS}")
    out = []
    for i, asset in enumerate(value[:MAX_ASSETS]):
        if isinstance(asset, dict) and isinstance(asset.get("uri"), str):
            out.append(asset)
        else:
            warnings.add(f"assets[{i}] has no uri; it was left out")
    return out


def _timestamp(value: Any) -> int | None:
    if isinstance(value, float):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53:
        return value
    return None


def _ours(extensions: dict[str, Any], warnings: ImportWarnings) -> dict[str, Any]:
    """Our own fields, from `extensions.roleplay`; an invalid one is left at its default."""
    ours = extensions.get("roleplay")
    if not isinstance(ours, dict):
        return {}
    out: dict[str, Any] = {}
    for field in ROLEPLAY_FIELDS:
        if field not in ours:
            continue
        try:
            checked = CharacterCreate.model_validate({"name": "card", field: ours[field]})
            out[field] = getattr(checked, field)
        except ValidationError:
            warnings.add(f"extensions.roleplay.{field} is not valid; left at its default")
    return out


def _book(card: dict[str, Any], data: dict[str, Any], warnings: ImportWarnings) -> BookData | None:
    book = data.get("character_book")
    if book is None and isinstance(card.get("character_book"), dict) and data is not card:
        warnings.add("character_book was outside `data`; it was read from there")
        book = card["character_book"]
    if book is None:
        return None
    if not isinstance(book, dict):
        warnings.add("character_book was not an object; it was left out")
        return None
    try:
        return book_from_card(book, warnings)
    except MalformedLorebookError as exc:
        warnings.add(f"character_book left out: {exc}")
        return None
