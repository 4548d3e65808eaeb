"""SillyTavern's world info file (`{"entries": {"0": {uid, key, keysecondary, ...}}}`), in and
out. Its entry keys become a card entry's, and what a card entry has no field for goes to its
`extensions` under the names SillyTavern itself gives them in a card's book, so a book read
from either format writes out as the other."""

from __future__ import annotations

from typing import Any

from roleplay_gateway.import_warnings import ImportWarnings, boolean, integer, text
from roleplay_gateway.lorebooks.card_books import (
    BookData,
    bounded,
    entry_from_card,
    extensions_for_export,
    is_entry,
)
from roleplay_gateway.lorebooks.schemas import MAX_ENTRIES, LorebookEntryData

# World info keys and the names SillyTavern gives them in a card's entry extensions.
_WORLD_INFO_EXTENSIONS = {
    "position": "position",
    "excludeRecursion": "exclude_recursion",
    "preventRecursion": "prevent_recursion",
    "delayUntilRecursion": "delay_until_recursion",
    "probability": "probability",
    "useProbability": "useProbability",
    "depth": "depth",
    "selectiveLogic": "selectiveLogic",
    "group": "group",
    "groupOverride": "group_override",
    "groupWeight": "group_weight",
    "scanDepth": "scan_depth",
    "caseSensitive": "case_sensitive",
    "matchWholeWords": "match_whole_words",
    "useGroupScoring": "use_group_scoring",
    "automationId": "automation_id",
    "role": "role",
    "vectorized": "vectorized",
    "displayIndex": "display_index",
}
_WORLD_INFO_DIRECT = {
    "uid",
    "key",
    "keysecondary",
    "comment",
    "content",
    "constant",
    "selective",
    "order",
    "disable",
}


def book_from_world_info(doc: dict[str, Any], warnings: ImportWarnings) -> BookData:
    """SillyTavern's world info file: `{"entries": {"0": {uid, key, keysecondary, ...}}}`."""
    raw: dict[str, Any] = doc["entries"]
    items = list(raw.values())
    entries = [
        _entry_from_world_info(e, i, warnings)
        for i, e in enumerate(items[: MAX_ENTRIES + 1])
        if is_entry(e, i, warnings)
    ]
    return BookData(
        name=text(doc.get("name"), "name", warnings, limit=200),
        description=text(doc.get("description"), "description", warnings, limit=20_000),
        extra={k: v for k, v in doc.items() if k not in ("entries", "name", "description")},
        entries=bounded(entries, len(items), warnings),
    )


def _entry_from_world_info(
    e: dict[str, Any], i: int, warnings: ImportWarnings
) -> LorebookEntryData:
    ext = {
        card_name: e[st_name]
        for st_name, card_name in _WORLD_INFO_EXTENSIONS.items()
        if st_name in e
    }
    unknown = {
        k: v
        for k, v in e.items()
        if k not in _WORLD_INFO_DIRECT and k not in _WORLD_INFO_EXTENSIONS
    }
    if unknown:
        ext["sillytavern"] = unknown
    card = {
        "id": e.get("uid", i),
        "keys": e.get("key"),
        "secondary_keys": e.get("keysecondary"),
        "comment": e.get("comment"),
        "content": e.get("content"),
        "constant": e.get("constant"),
        "selective": e.get("selective"),
        "insertion_order": e.get("order", 100),
        "enabled": not boolean(e.get("disable")),
        "position": "after_char" if integer(e.get("position")) == 1 else "before_char",
        "extensions": ext,
    }
    return entry_from_card(card, i, warnings)


def _world_info_uids(entries: list[LorebookEntryData]) -> list[int]:
    """World info wants a unique integer `uid` per entry: the card's own where it is one."""
    taken = {e.card_id for e in entries if isinstance(e.card_id, int)}
    out: list[int] = []
    spare = 0
    for entry in entries:
        if isinstance(entry.card_id, int) and entry.card_id not in out:
            out.append(entry.card_id)
            continue
        while spare in taken or spare in out:
            spare += 1
        out.append(spare)
    return out


def world_info(book: BookData) -> dict[str, Any]:
    """SillyTavern's world info file of the book."""
    entries: dict[str, Any] = {}
    uids = _world_info_uids(book.entries)
    for index, entry in enumerate(book.entries):
        ext = extensions_for_export(entry)
        unknown = ext.pop("sillytavern", None)
        uid = uids[index]
        item: dict[str, Any] = {
            "uid": uid,
            "key": list(entry.keys),
            "keysecondary": list(entry.secondary_keys),
            "comment": entry.comment,
            "content": entry.content,
            "constant": entry.constant,
            "selective": entry.selective
            if entry.selective is not None
            else bool(entry.secondary_keys),
            "order": entry.insertion_order,
            "disable": not entry.enabled,
            "position": 1 if entry.position == "after_char" else 0,
        }
        for st_name, card_name in _WORLD_INFO_EXTENSIONS.items():
            if card_name in ext:
                item[st_name] = ext[card_name]
        if entry.case_sensitive:
            item.setdefault("caseSensitive", True)
        if entry.match_whole_words:
            item.setdefault("matchWholeWords", True)
        if isinstance(unknown, dict):
            for key, value in unknown.items():
                item.setdefault(key, value)
        entries[str(uid)] = item
    out: dict[str, Any] = {"entries": entries}
    if book.name:
        out["name"] = book.name
    if book.description:
        out["description"] = book.description
    for key, value in book.extra.items():
        out.setdefault(key, value)
    return out
