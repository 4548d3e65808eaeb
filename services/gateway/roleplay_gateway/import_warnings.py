"""What a lenient import mended or cut, told back to the client (bounded against abuse)."""

from __future__ import annotations

from typing import Any

from roleplay_common.text import check_text

MAX_WARNINGS = 50
MAX_WARNING_CHARS = 300


class ImportWarnings:
    """At most `MAX_WARNINGS` short sentences; beyond that, one saying more were left out."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.dropped = 0

    def add(self, message: str) -> None:
        if len(self.items) < MAX_WARNINGS:
            self.items.append(message[:MAX_WARNING_CHARS])
        else:
            self.dropped += 1

    def as_list(self) -> list[str]:
        if self.dropped:
            return [*self.items, f"{self.dropped} more warnings left out"]
        return list(self.items)


def file_stem(filename: str) -> str:
    """The uploaded file's name without its extension, usable as a fallback name (empty when
    it holds what text may not)."""
    stem = filename.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0].strip()
    try:
        return check_text(stem)[:200]
    except ValueError:
        return ""


def text(value: Any, field: str, warnings: ImportWarnings, *, limit: int) -> str:
    """A string field of a card, leniently: null is empty, a number or a list becomes text,
    and text over `limit` is cut (with a warning)."""
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        warnings.add(f"{field} was a list; its items were joined")
        value = "\n".join(value)
    elif not isinstance(value, str):
        if isinstance(value, dict):
            warnings.add(f"{field} was an object; it was left empty")
            return ""
        warnings.add(f"{field} was not text; it was converted")
        value = str(value)
    out: str = value
    if len(out) > limit:
        warnings.add(f"{field} has {len(out):,} characters; kept the first {limit:,}")
        out = out[:limit]
    return out


def text_list(
    value: Any, field: str, warnings: ImportWarnings, *, limit: int, max_items: int
) -> list[str]:
    """A list-of-strings field, leniently: null is empty, a lone string is a one-item list,
    non-strings are converted, and the list and its items are bounded."""
    if value is None:
        return []
    if isinstance(value, str):
        if value:
            warnings.add(f"{field} was a string, not a list; it became a one-item list")
        return [value[:limit]] if value else []
    if not isinstance(value, list):
        warnings.add(f"{field} was not a list; it was left empty")
        return []
    if len(value) > max_items:
        warnings.add(f"{field} has {len(value)} items; kept the first {max_items}")
        value = value[:max_items]
    out: list[str] = []
    for i, item in enumerate(value):
        if isinstance(item, (dict, list)) or item is None:
            warnings.add(f"{field}[{i}] was not text; it was left out")
            continue
        out.append(text(item, f"{field}[{i}]", warnings, limit=limit))
    return out


def integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -(2**31) <= value < 2**31 else None
    if isinstance(value, float) and value.is_integer():
        return integer(int(value))
    if isinstance(value, str):
        try:
            return integer(int(value.strip()))
        except ValueError:
            return None
    return None


def boolean(value: Any, default: bool = False) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return default


def mapping(value: Any, field: str, warnings: ImportWarnings) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        warnings.add(f"{field} was not an object; it was left empty")
        return {}
    return value
