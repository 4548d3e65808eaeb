"""Reading an uploaded lorebook file, whatever its format."""

from __future__ import annotations

from typing import Any

from roleplay_gateway.import_warnings import ImportWarnings
from roleplay_gateway.lorebooks.card_books import BookData, MalformedLorebookError, book_from_card
from roleplay_gateway.lorebooks.world_info import book_from_world_info


def read_lorebook_file(doc: Any, warnings: ImportWarnings) -> BookData:
    """A `lorebook_v3` file, a card's `character_book` (or a whole card), or world info."""
    if not isinstance(doc, dict):
        raise MalformedLorebookError("a lorebook must be a JSON object")
    if doc.get("spec") == "lorebook_v3":
        return book_from_card(doc.get("data"), warnings)
    if doc.get("spec") in ("chara_card_v2", "chara_card_v3"):
        data = doc.get("data")
        book = data.get("character_book") if isinstance(data, dict) else None
        if not isinstance(book, dict):
            raise MalformedLorebookError("the card has no character_book")
        return book_from_card(book, warnings)
    entries = doc.get("entries")
    if isinstance(entries, dict):
        return book_from_world_info(doc, warnings)
    if isinstance(entries, list):
        return book_from_card(doc, warnings)
    raise MalformedLorebookError(
        "not a lorebook: expected lorebook_v3, a character_book or SillyTavern world info"
    )
