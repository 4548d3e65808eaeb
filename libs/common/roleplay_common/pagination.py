"""Opaque keyset cursors for `?limit=&cursor=` lists: `{"items": [...], "next_cursor": ...}`."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from roleplay_common.http import ApiError

Item = TypeVar("Item")

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
    if not isinstance(values, dict) or not values:
        raise ApiError(400, "invalid_cursor", "the cursor is not valid")
    return values


class Page(BaseModel, Generic[Item]):
    """One page of a list; `next_cursor` is null on the last."""

    items: list[Item]
    next_cursor: str | None = Field(description="Pass as `?cursor=` for the next page.")


def page(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


async def keyset_page(
    session: Any,
    statement: Any,
    order_column: Any,
    id_column: Any,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """Rows of `statement` newest first by (`order_column`, `id_column`), after `cursor`;
    and the cursor of the next page (None on the last)."""
    import sqlalchemy as sa

    if after := decode_cursor(cursor):
        try:
            at, last_id = datetime.fromisoformat(after["t"]), uuid.UUID(after["id"])
        except (KeyError, ValueError, TypeError) as exc:
            raise ApiError(400, "invalid_cursor", "the cursor is not valid") from exc
        statement = statement.where(sa.tuple_(order_column, id_column) < sa.tuple_(at, last_id))
    statement = statement.order_by(order_column.desc(), id_column.desc()).limit(limit + 1)
    rows = list((await session.execute(statement)).scalars().all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    value = getattr(last, order_column.key)
    return rows[:limit], encode_cursor({"t": value.isoformat(), "id": str(last.id)})
