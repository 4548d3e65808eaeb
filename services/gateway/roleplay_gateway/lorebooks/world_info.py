"""SillyTavern's world info file (`{"entries": {"0": {uid, key, keysecondary, ...}}}`), in and
out. Its entry keys become a card entry's, and what a card entry has no field for goes to its
`extensions` under the names SillyTavern itself gives them in a card's book, so a book read
from either format writes out as the other.

What world info has no field for travels where SillyTavern keeps it: `originalData`, the whole
card book (SillyTavern writes it when it turns a card's book into world info) with the book's
`scan_depth`, `token_budget`, `recursive_scanning`, `extensions` and each entry's `priority`,
`name` and own `id`; each entry's card `extensions` go in its `extensions` (SillyTavern keeps
them there too). `originalData`'s entries are matched to the world info ones by `uid` (given
as on export); the world info entries stay the truth for everything they carry. `use_regex`
is written in the keys (`world_info_keys`), and an entry with a `name` but no `comment` shows
the name as its title.
"""

from __future__ import annotations

from typing import Any

from roleplay_gateway.import_warnings import ImportWarnings, boolean, integer, mapping, text
from roleplay_gateway.lorebooks.card_books import (
    BookData,
    bounded,
    bounded_number,
    card_book,
    entry_from_card,
    extensions_for_export,
    is_entry,
)
from roleplay_gateway.lorebooks.schemas import (
    MAX_ENTRIES,
    MAX_SCAN_DEPTH,
    MAX_TOKEN_BUDGET,
    LorebookEntryData,
)
from roleplay_gateway.lorebooks.world_info_keys import (
    exported_as,
    is_slashed,
    regex_keys,
    slashed_keys,
)

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
_ORIGINAL = "originalData"
CardId = int | str | None


def book_from_world_info(doc: dict[str, Any], warnings: ImportWarnings) -> BookData:
    """SillyTavern's world info file: `{"entries": {"0": {uid, key, keysecondary, ...}}}`."""
    raw: dict[str, Any] = doc["entries"]
    items = list(raw.values())
    original = doc.get(_ORIGINAL)
    original = original if isinstance(original, dict) else {}
    originals = _originals_by_uid(original.get("entries"))
    entries = [
        _entry_from_world_info(e, i, warnings, originals.get(_uid_key(e.get("uid", i))))
        for i, e in enumerate(items[: MAX_ENTRIES + 1])
        if is_entry(e, i, warnings)
    ]
    return BookData(
        name=text(doc.get("name", original.get("name")), "name", warnings, limit=200),
        description=text(
            doc.get("description", original.get("description")),
            "description",
            warnings,
            limit=20_000,
        ),
        scan_depth=bounded_number(original.get("scan_depth"), MAX_SCAN_DEPTH),
        token_budget=bounded_number(original.get("token_budget"), MAX_TOKEN_BUDGET),
        extensions=mapping(original.get("extensions"), "originalData.extensions", warnings),
        recursive_scanning=boolean(original.get("recursive_scanning")),
        extra={
            k: v for k, v in doc.items() if k not in ("entries", "name", "description", _ORIGINAL)
        },
        entries=bounded(entries, len(items), warnings),
    )


def _uid_key(uid: Any) -> str:
    return str(uid)


def _card_id(value: Any) -> CardId:
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def _originals_by_uid(entries: Any) -> dict[str, dict[str, Any]]:
    """`originalData`'s entries by the world info `uid` their export gave them."""
    if not isinstance(entries, list):
        return {}
    found = [e for e in entries[:MAX_ENTRIES] if isinstance(e, dict)]
    uids = world_info_uids([_card_id(e.get("id")) for e in found])
    return {_uid_key(uid): e for uid, e in zip(uids, found, strict=True)}


def _entry_from_world_info(
    e: dict[str, Any], i: int, warnings: ImportWarnings, original: dict[str, Any] | None
) -> LorebookEntryData:
    ext = _extensions_from_world_info(e)
    unknown = {
        k: v
        for k, v in e.items()
        if k not in _WORLD_INFO_DIRECT and k not in _WORLD_INFO_EXTENSIONS and k != "extensions"
    }
    if unknown:
        ext["sillytavern"] = unknown
    keys, secondary = e.get("key"), e.get("keysecondary")
    use_regex = any(
        isinstance(k, str) and is_slashed(k)
        for group in (keys, secondary)
        if isinstance(group, list)
        for k in group
    )
    if use_regex:
        keys, secondary = (
            regex_keys(group)
            if isinstance(group, list) and all(isinstance(k, str) for k in group)
            else group
            for group in (keys, secondary)
        )
    card = {
        "id": e.get("uid", i),
        "keys": keys,
        "secondary_keys": secondary,
        "comment": e.get("comment"),
        "content": e.get("content"),
        "constant": e.get("constant"),
        "selective": e.get("selective"),
        "insertion_order": e.get("order", 100),
        "enabled": not boolean(e.get("disable")),
        "position": "after_char" if integer(e.get("position")) == 1 else "before_char",
        "use_regex": use_regex,
        "case_sensitive": boolean(e.get("caseSensitive")),
        "extensions": ext,
    }
    if original is not None:
        card.update(_from_original(original, e))
    return entry_from_card({k: v for k, v in card.items() if v is not None}, i, warnings)


def _extensions_from_world_info(e: dict[str, Any]) -> dict[str, Any]:
    """The card entry's extensions: the world info entry's `extensions` (SillyTavern keeps a
    card entry's there), then its own fields under their card names. Beside such an object, a
    `position` of 0 or 1 and `caseSensitive` are the card's own fields, not extensions."""
    own = e.get("extensions")
    ext = dict(own) if isinstance(own, dict) else {}
    for st_name, card_name in _WORLD_INFO_EXTENSIONS.items():
        if st_name not in e:
            continue
        implied = (st_name == "position" and integer(e[st_name]) in (0, 1)) or (
            st_name == "caseSensitive"
        )
        if isinstance(own, dict) and card_name not in own and implied:
            continue
        ext[card_name] = e[st_name]
    return ext


def _from_original(original: dict[str, Any], e: dict[str, Any]) -> dict[str, Any]:
    """What a card entry has and world info does not, from its `originalData` entry (none when
    that entry has neither the keys nor the content of this one: not the same entry)."""
    out: dict[str, Any] = {}
    written = {
        "use_regex": boolean(original.get("use_regex")),
        "case_sensitive": boolean(e.get("caseSensitive")),
    }
    if all(
        exported_as(original.get(field), e.get(wi_field), **written)
        for field, wi_field in (("keys", "key"), ("secondary_keys", "keysecondary"))
    ):
        out["keys"] = original["keys"]
        out["secondary_keys"] = original["secondary_keys"]
        out["use_regex"] = written["use_regex"]
    elif original.get("content") != e.get("content"):
        return out
    if _card_id(original.get("id")) is not None:
        out["id"] = original["id"]
    for field in ("priority", "name"):
        if field in original:
            out[field] = original[field]
    if "selective" not in original and e.get("selective") == bool(e.get("keysecondary")):
        out["selective"] = None  # written only because world info always has it
    name = original.get("name")
    if not original.get("comment") and isinstance(name, str) and name and e.get("comment") == name:
        out["comment"] = ""  # the title written for a nameless comment
    return out


def world_info_uids(card_ids: list[CardId]) -> list[int]:
    """World info wants a unique integer `uid` per entry: the card's own where it is one."""
    taken = {i for i in card_ids if isinstance(i, int)}
    out: list[int] = []
    spare = 0
    for card_id in card_ids:
        if isinstance(card_id, int) and card_id not in out:
            out.append(card_id)
            continue
        while spare in taken or spare in out:
            spare += 1
        out.append(spare)
    return out


def world_info(book: BookData) -> dict[str, Any]:
    """SillyTavern's world info file of the book."""
    entries: dict[str, Any] = {}
    uids = world_info_uids([e.card_id for e in book.entries])
    for index, entry in enumerate(book.entries):
        ext = extensions_for_export(entry)
        unknown = ext.pop("sillytavern", None)
        uid = uids[index]
        item: dict[str, Any] = {
            "uid": uid,
            "key": _keys(entry.keys, entry),
            "keysecondary": _keys(entry.secondary_keys, entry),
            "comment": entry.comment or entry.name,
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
        item["extensions"] = ext
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
    out[_ORIGINAL] = card_book(book, v2=False)
    for key, value in book.extra.items():
        out.setdefault(key, value)
    return out


def _keys(keys: list[str], entry: LorebookEntryData) -> list[str]:
    if entry.use_regex:
        return slashed_keys(keys, case_sensitive=entry.case_sensitive)
    return list(keys)
