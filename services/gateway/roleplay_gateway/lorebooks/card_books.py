"""A card's `character_book` (V2/V3) and the `lorebook_v3` file, in and out.

Reading is lenient (see `import_warnings`). An entry's `extensions` are kept as they came;
the contract's fields that SillyTavern keeps there (`match_whole_words`, `probability`,
`selectiveLogic`, `position` 4 with `depth` and `role`) are read from them, and written back
only when they were changed, so an unchanged book exports exactly as it was imported.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from roleplay_gateway.import_warnings import (
    ImportWarnings,
    boolean,
    integer,
    mapping,
    text,
    text_list,
)
from roleplay_gateway.lorebooks.schemas import (
    MAX_CONTENT,
    MAX_ENTRIES,
    MAX_ID,
    MAX_SCAN_DEPTH,
    MAX_TOKEN_BUDGET,
    LorebookEntryData,
)

_BOOK_FIELDS = {
    "name",
    "description",
    "scan_depth",
    "token_budget",
    "recursive_scanning",
    "extensions",
    "entries",
}
_LOGIC = {0: "and_any", 1: "not_all", 2: "not_any", 3: "and_all"}
_LOGIC_NUMBER = {v: k for k, v in _LOGIC.items()}
_ROLES = {0: "system", 1: "user", 2: "assistant"}
_ROLE_NUMBER = {v: k for k, v in _ROLES.items()}
_AT_DEPTH = 4
_DECORATOR_LINE = re.compile(r"^@@.*(?:\r?\n|$)", re.MULTILINE)


class MalformedLorebookError(ValueError):
    pass


@dataclass
class BookData:
    """A lorebook read from a file, before it is stored."""

    name: str = ""
    description: str = ""
    scan_depth: int | None = None
    token_budget: int | None = None
    recursive_scanning: bool = False
    extensions: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    entries: list[LorebookEntryData] = field(default_factory=list)


def strip_decorators(content: str) -> str:
    """`content` without its V3 decorator lines (`@@name value`, `@@@fallback`)."""
    if "@@" not in content:
        return content
    return _DECORATOR_LINE.sub("", content).strip("\r\n")


def book_from_card(book: Any, warnings: ImportWarnings) -> BookData:
    """A card's `character_book` (V2 or V3 shape)."""
    if not isinstance(book, dict):
        raise MalformedLorebookError("the lorebook's data must be an object")
    raw_entries = book.get("entries")
    if not isinstance(raw_entries, list):
        if raw_entries is not None:
            warnings.add("character_book.entries was not a list; the book is empty")
        raw_entries = []
    out = BookData(
        name=text(book.get("name"), "character_book.name", warnings, limit=200),
        description=text(
            book.get("description"), "character_book.description", warnings, limit=20_000
        ),
        scan_depth=bounded_number(book.get("scan_depth"), MAX_SCAN_DEPTH),
        token_budget=bounded_number(book.get("token_budget"), MAX_TOKEN_BUDGET),
        recursive_scanning=boolean(book.get("recursive_scanning")),
        extensions=mapping(book.get("extensions"), "character_book.extensions", warnings),
        extra={k: v for k, v in book.items() if k not in _BOOK_FIELDS},
    )
    out.entries = bounded(
        [
            entry_from_card(e, i, warnings)
            for i, e in enumerate(raw_entries[: MAX_ENTRIES + 1])
            if is_entry(e, i, warnings)
        ],
        len(raw_entries),
        warnings,
    )
    return out


def bounded_number(value: Any, most: int) -> int | None:
    """A book's number setting within what a lorebook accepts (0 to `most`), or None."""
    number = integer(value)
    return None if number is None else max(0, min(most, number))


def is_entry(entry: Any, index: int, warnings: ImportWarnings) -> bool:
    if isinstance(entry, dict):
        return True
    warnings.add(f"entries[{index}] was not an object; it was left out")
    return False


def bounded(
    entries: list[LorebookEntryData], total: int, warnings: ImportWarnings
) -> list[LorebookEntryData]:
    if total > MAX_ENTRIES:
        warnings.add(f"the lorebook has {total} entries; kept the first {MAX_ENTRIES}")
    return with_ids(entries[:MAX_ENTRIES])


def with_ids(entries: list[LorebookEntryData]) -> list[LorebookEntryData]:
    """Entries with an `id` each, unique within the book (a missing or repeated one is given)."""
    seen: set[str] = set()
    out = []
    for entry in entries:
        if not entry.id or entry.id in seen:
            entry = entry.model_copy(update={"id": uuid.uuid4().hex[:12]})
        seen.add(entry.id)
        out.append(entry)
    return out


def entry_from_card(e: dict[str, Any], i: int, warnings: ImportWarnings) -> LorebookEntryData:
    where = f"entries[{i}]"
    ext = mapping(e.get("extensions"), f"{where}.extensions", warnings)
    card_id = e.get("id")
    if not isinstance(card_id, (int, str)) or isinstance(card_id, bool):
        card_id = None
    values = _from_extensions(ext)
    case_sensitive = e.get("case_sensitive")
    position = values.pop("position", None) or (
        "after_char" if e.get("position") == "after_char" else "before_char"
    )
    own_id = str(card_id) if card_id is not None else ""
    if len(own_id) > MAX_ID:
        warnings.add(f"{where}.id is over {MAX_ID} characters; the entry was given another")
        own_id = ""
    return LorebookEntryData(
        id=own_id,
        card_id=card_id,
        keys=text_list(e.get("keys"), f"{where}.keys", warnings, limit=500, max_items=100),
        secondary_keys=text_list(
            e.get("secondary_keys"), f"{where}.secondary_keys", warnings, limit=500, max_items=100
        ),
        selective=boolean(e["selective"]) if "selective" in e else None,
        content=text(e.get("content"), f"{where}.content", warnings, limit=MAX_CONTENT),
        enabled=boolean(e.get("enabled"), default=True),
        constant=boolean(e.get("constant")),
        insertion_order=_order(e.get("insertion_order")),
        priority=integer(e.get("priority")),
        position=position,
        case_sensitive=boolean(case_sensitive)
        if case_sensitive is not None
        else boolean(ext.get("case_sensitive")),
        use_regex=boolean(e.get("use_regex")),
        comment=text(e.get("comment"), f"{where}.comment", warnings, limit=20_000),
        name=text(e.get("name"), f"{where}.name", warnings, limit=500),
        extensions=ext,
        **values,
    )


def _order(value: Any) -> int:
    order = integer(value)
    return 100 if order is None else order


def _from_extensions(ext: dict[str, Any]) -> dict[str, Any]:
    """The contract's fields SillyTavern keeps in an entry's extensions."""
    values: dict[str, Any] = {
        "match_whole_words": boolean(ext.get("match_whole_words")),
        "selective_logic": _LOGIC.get(integer(ext.get("selectiveLogic")) or 0, "and_any"),
    }
    probability = integer(ext.get("probability"))
    if boolean(ext.get("useProbability")) and probability is not None:
        values["probability"] = max(0, min(100, probability))
    if integer(ext.get("position")) == _AT_DEPTH:
        depth = integer(ext.get("depth"))
        values["position"] = "at_depth"
        values["depth"] = max(0, min(10_000, depth)) if depth is not None else 4
        values["role"] = _ROLES.get(integer(ext.get("role")) or 0, "system")
    elif integer(ext.get("position")) == 1:
        values["position"] = "after_char"
    return values


def extensions_for_export(entry: LorebookEntryData) -> dict[str, Any]:
    """The entry's extensions, with the contract's fields written back where they changed."""
    ext = dict(entry.extensions)
    derived = _from_extensions(ext)
    if derived.get("match_whole_words", False) != entry.match_whole_words:
        ext["match_whole_words"] = entry.match_whole_words
    if derived.get("selective_logic") != entry.selective_logic:
        ext["selectiveLogic"] = _LOGIC_NUMBER[entry.selective_logic]
    if derived.get("probability") != entry.probability:
        ext["useProbability"] = entry.probability is not None
        ext["probability"] = entry.probability if entry.probability is not None else 100
    if entry.position == "at_depth":
        if (derived.get("position"), derived.get("depth"), derived.get("role")) != (
            "at_depth",
            entry.depth,
            entry.role,
        ):
            ext["position"] = _AT_DEPTH
            ext["depth"] = entry.depth if entry.depth is not None else 4
            ext["role"] = _ROLE_NUMBER.get(entry.role or "system", 0)
    elif "position" in ext:
        wanted = 1 if entry.position == "after_char" else 0
        if integer(ext["position"]) in (0, 1, _AT_DEPTH) and integer(ext["position"]) != wanted:
            ext["position"] = wanted
    return ext


def card_entry(entry: LorebookEntryData, *, v2: bool) -> dict[str, Any]:
    """One entry of a card's `character_book`; the V2 backfill has no decorators."""
    out: dict[str, Any] = {
        "id": entry.card_id if entry.card_id is not None else entry.id,
        "keys": list(entry.keys),
        "secondary_keys": list(entry.secondary_keys),
        "comment": entry.comment,
        "content": strip_decorators(entry.content) if v2 else entry.content,
        "constant": entry.constant,
        "insertion_order": entry.insertion_order,
        "enabled": entry.enabled,
        "position": "after_char" if entry.position == "after_char" else "before_char",
        "case_sensitive": entry.case_sensitive,
    }
    if entry.selective is not None:
        out["selective"] = entry.selective
    if not v2:
        out["use_regex"] = entry.use_regex
    if entry.name:
        out["name"] = entry.name
    if entry.priority is not None:
        out["priority"] = entry.priority
    out["extensions"] = extensions_for_export(entry)
    return out


def card_book(book: BookData, *, v2: bool) -> dict[str, Any]:
    """A card's `character_book` (also the `data` of a `lorebook_v3` file)."""
    out: dict[str, Any] = {}
    if book.name:
        out["name"] = book.name
    if book.description:
        out["description"] = book.description
    if book.scan_depth is not None:
        out["scan_depth"] = book.scan_depth
    if book.token_budget is not None:
        out["token_budget"] = book.token_budget
    out["recursive_scanning"] = book.recursive_scanning
    out["extensions"] = dict(book.extensions)
    out["entries"] = [card_entry(e, v2=v2) for e in book.entries]
    for key, value in book.extra.items():
        out.setdefault(key, value)
    return out


def lorebook_v3(book: BookData) -> dict[str, Any]:
    return {"spec": "lorebook_v3", "data": card_book(book, v2=False)}
