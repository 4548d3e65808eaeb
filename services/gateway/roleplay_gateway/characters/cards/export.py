"""Our character (and its lorebook) back to a card: V3 JSON, a V2 backfill, PNG, CHARX.

The V3 card is the whole truth; the V2 backfill drops what V2 has no place for and strips
V3 decorators from the book's entries. A PNG carries both (`ccv3` and `chara`) and the
`chara-ext-asset_:{path}` chunks its `__asset:{path}` URIs name; a CHARX holds `card.json`
(V3) and the assets the card embeds, those of PNG chunks moved to `assets/{type}/{kind}/` and
their URIs rewritten to `embeded://` (`png_assets`).
"""

from __future__ import annotations

import base64
import io
import json
import time
from typing import Any

from PIL import Image

from roleplay_gateway.characters.cards import charx, png_chunks
from roleplay_gateway.characters.cards.normalise import ROLEPLAY_FIELDS
from roleplay_gateway.characters.cards.png_assets import PNG_ASSET, as_charx_files, chunk_name
from roleplay_gateway.characters.images import UnreadableImageError, open_image
from roleplay_gateway.characters.store import Character
from roleplay_gateway.lorebooks.card_books import BookData, card_book

V3_ONLY = (
    "assets",
    "nickname",
    "creator_notes_multilingual",
    "source",
    "group_only_greetings",
    "creation_date",
    "modification_date",
)
PORTRAIT_ASSET = "assets/icon/images/main.png"
_DEFAULTS: dict[str, Any] = {
    "content_rating": "sfw",
    "appearance_tags": [],
    "scene_behavior_rules": {},
    "consistency_method": None,
}


def _extensions(c: Character) -> dict[str, Any]:
    """The card's extensions as imported, with ours (`roleplay`) as they are now: in place
    when the card had them, added when they say more than the defaults."""
    out = dict(c.extensions)
    ours = {
        "content_rating": c.content_rating,
        "appearance_tags": list(c.appearance_tags),
        "scene_behavior_rules": dict(c.scene_behavior_rules),
        "consistency_method": c.consistency_method,
    }
    previous = out.get("roleplay")
    if isinstance(previous, dict):
        merged = dict(previous)
        merged.update(
            {k: ours[k] for k in ROLEPLAY_FIELDS if k in previous or ours[k] != _DEFAULTS[k]}
        )
        out["roleplay"] = merged
    elif any(ours[k] != _DEFAULTS[k] for k in ROLEPLAY_FIELDS):
        out["roleplay"] = ours
    return out


def to_card(c: Character, book: BookData | None, *, version: int = 3) -> dict[str, Any]:
    """The character as a V3 card (or, with `version=2`, its V2 backfill)."""
    v2 = version == 2
    extra = c.card_extra or {}
    data: dict[str, Any] = {
        "name": c.name,
        "description": c.description,
        "personality": c.persona,
        "scenario": c.scenario,
        "first_mes": c.first_message,
        "mes_example": c.example_dialogue,
        "creator_notes": c.creator_notes,
        "system_prompt": c.system_prompt,
        "post_history_instructions": c.post_history_instructions,
        "tags": list(c.tags),
        "creator": c.creator,
        "character_version": c.character_version,
        "alternate_greetings": list(c.alternate_greetings),
        "extensions": _extensions(c),
    }
    if book is not None:
        data["character_book"] = card_book(book, v2=v2)
    if not v2:
        data["group_only_greetings"] = list(c.group_only_greetings)
        if c.nickname:
            data["nickname"] = c.nickname
        if c.creator_notes_multilingual:
            data["creator_notes_multilingual"] = dict(c.creator_notes_multilingual)
        if c.source:
            data["source"] = list(c.source)
        if c.assets:  # absent means the spec's default: the card's own image as icon
            data["assets"] = list(c.assets)
        data["creation_date"] = (
            c.creation_date if c.creation_date is not None else int(c.created_at.timestamp())
        )
        data["modification_date"] = int(time.time())
    for key, value in (extra.get("data") or {}).items():
        data.setdefault(key, value)
    card: dict[str, Any] = {
        "spec": "chara_card_v2" if v2 else "chara_card_v3",
        "spec_version": "2.0" if v2 else "3.0",
        "data": data,
    }
    for key, value in (extra.get("top") or {}).items():
        card.setdefault(key, value)
    return card


def _encoded(card: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(card, ensure_ascii=False).encode()).decode()


def _png_canvas(portrait: bytes | None) -> bytes:
    """The portrait as a PNG (itself when it is one: an APNG stays animated), else a
    plain placeholder."""
    if portrait and png_chunks.is_png(portrait):
        try:
            open_image(portrait, decode=False)
            png_chunks.read_text_chunks(portrait)
            return portrait
        except (UnreadableImageError, png_chunks.BrokenPngError):
            pass
    image: Image.Image | None = None
    if portrait:
        try:
            image = open_image(portrait)
        except UnreadableImageError:
            image = None
    if image is None:
        image = Image.new("RGB", (400, 600), (40, 44, 52))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def card_png(
    v3: dict[str, Any],
    v2: dict[str, Any],
    portrait: bytes | None,
    files: dict[str, bytes] | None = None,
) -> bytes:
    """A PNG (the portrait, or a placeholder) carrying the V3 card in `ccv3`, its V2 backfill
    in `chara`, and the `__asset:` files among `files` in their `chara-ext-asset_` chunks."""
    texts = {"chara": _encoded(v2), "ccv3": _encoded(v3)}
    for path, content in (files or {}).items():
        if path.startswith(PNG_ASSET):
            texts[chunk_name(path)] = base64.b64encode(content).decode()
    return png_chunks.with_text_chunks(_png_canvas(portrait), texts)


def card_charx(v3: dict[str, Any], files: dict[str, bytes], portrait: bytes | None) -> bytes:
    """A CHARX: `card.json` and the embedded assets; the portrait becomes the main icon when
    the card names none of its own."""
    card = json.loads(json.dumps(v3))
    files = as_charx_files(card["data"], files)
    assets: list[dict[str, Any]] = card["data"].get("assets") or []
    has_icon = any(
        a.get("type") == "icon" and str(a.get("uri", "")).startswith(charx.EMBEDDED) for a in assets
    )
    if portrait and not has_icon:
        files[PORTRAIT_ASSET] = _png_canvas(portrait)
        assets = [
            a for a in assets if not (a.get("type") == "icon" and a.get("uri") == "ccdefault:")
        ]
        assets.insert(
            0,
            {"type": "icon", "uri": charx.EMBEDDED + PORTRAIT_ASSET, "name": "main", "ext": "png"},
        )
        card["data"]["assets"] = assets
    return charx.write_charx(json.dumps(card, ensure_ascii=False).encode(), files)
