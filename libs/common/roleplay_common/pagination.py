"""Opaque keyset cursors for `?limit=&cursor=` lists: `{"items": [...], "next_cursor": ...}`."""

from __future__ import annotations

import base64
import json
from typing import Any

from roleplay_common.http import ApiError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The cursor's values; a cursor that is not ours is a 400, never a 500."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "invalid_cursor", "the cursor is not valid") from exc
    if not isinstance(values, dict):
        raise ApiError(400, "invalid_cursor", "the cursor is not valid")
    return values


def page(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}
