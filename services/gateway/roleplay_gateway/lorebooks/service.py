"""Who sees which lorebook, and the forms other parts take of one.

A lorebook is visible to its owner and admins, and to everyone when `public`; only the owner
(or an admin) may change or delete it, to anyone else it is a 404. Books are named by id from
characters (`lorebook_id`, `lorebook_ids`) and conversations; a turn takes only those the
caller may see.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_common.events import Lorebook as TurnLorebook
from roleplay_common.events import LorebookEntry
from roleplay_common.http import ApiError
from roleplay_gateway.auth.service import AuthUser
from roleplay_gateway.lorebooks.card_books import BookData, with_ids
from roleplay_gateway.lorebooks.schemas import LorebookEntryData
from roleplay_gateway.lorebooks.store import Lorebook


def can_see(user: AuthUser, book: Lorebook) -> bool:
    return user.is_admin or book.owner_id == user.id or book.visibility == "public"


def visible_clause(user: AuthUser) -> sa.ColumnElement[bool]:
    if user.is_admin:
        return sa.true()
    return sa.or_(col(Lorebook.owner_id) == user.id, col(Lorebook.visibility) == "public")


async def visible_lorebook(
    session: AsyncSession, user: AuthUser, lorebook_id: uuid.UUID, *, owned: bool = False
) -> Lorebook:
    book = await session.get(Lorebook, lorebook_id)
    if book is None or not can_see(user, book):
        raise ApiError(404, "not_found", "lorebook not found")
    if owned and book.owner_id != user.id and not user.is_admin:
        raise ApiError(404, "not_found", "lorebook not found")
    return book


async def check_visible(
    session: AsyncSession, user: AuthUser, ids: Iterable[uuid.UUID | None]
) -> None:
    """A 404 naming the first book of `ids` the caller may not see."""
    for lorebook_id in ids:
        if lorebook_id is not None:
            await visible_lorebook(session, user, lorebook_id)


def new_lorebook(
    owner_id: uuid.UUID,
    book: BookData,
    *,
    id: uuid.UUID | None = None,
    name: str = "",
    visibility: str = "private",
) -> Lorebook:
    return Lorebook(
        id=id or uuid.uuid4(),
        owner_id=owner_id,
        name=(book.name or name or "Lorebook")[:200],
        description=book.description,
        scan_depth=book.scan_depth,
        token_budget=book.token_budget,
        recursive_scanning=book.recursive_scanning,
        extensions=book.extensions,
        extra=book.extra,
        entries=[e.model_dump(mode="json") for e in with_ids(book.entries)],
        visibility=visibility,
    )


def book_data(book: Lorebook) -> BookData:
    return BookData(
        name=book.name,
        description=book.description,
        scan_depth=book.scan_depth,
        token_budget=book.token_budget,
        recursive_scanning=book.recursive_scanning,
        extensions=dict(book.extensions),
        extra=dict(book.extra),
        entries=[LorebookEntryData.model_validate(e) for e in book.entries],
    )


def lorebook_view(book: Lorebook) -> dict[str, Any]:
    return {
        "id": str(book.id),
        "owner_id": str(book.owner_id),
        "name": book.name,
        "description": book.description,
        "scan_depth": book.scan_depth,
        "token_budget": book.token_budget,
        "recursive_scanning": book.recursive_scanning,
        "visibility": book.visibility,
        "extensions": dict(book.extensions),
        "entries": list(book.entries),
        "created_at": book.created_at.isoformat(),
        "updated_at": book.updated_at.isoformat(),
    }


def turn_lorebook(
    book: Lorebook, source: Literal["character", "persona", "conversation"]
) -> TurnLorebook:
    """The book as a turn command carries it. Secondary keys go only where the entry is
    selective (V2's `selective: false` means they are ignored)."""
    entries = []
    for raw in book.entries:
        e = LorebookEntryData.model_validate(raw)
        selective = e.selective if e.selective is not None else bool(e.secondary_keys)
        entries.append(
            LorebookEntry(
                id=e.id,
                keys=list(e.keys),
                secondary_keys=list(e.secondary_keys) if selective else [],
                selective_logic=e.selective_logic,
                content=e.content,
                enabled=e.enabled,
                constant=e.constant,
                insertion_order=e.insertion_order,
                priority=e.priority,
                position=e.position,
                depth=e.depth,
                role=e.role,
                case_sensitive=e.case_sensitive,
                match_whole_words=e.match_whole_words,
                use_regex=e.use_regex,
                probability=e.probability,
                comment=e.comment,
                extensions=dict(e.extensions),
            )
        )
    return TurnLorebook(
        id=book.id,
        name=book.name,
        source=source,
        scan_depth=book.scan_depth,
        token_budget=book.token_budget,
        recursive_scanning=book.recursive_scanning,
        entries=entries,
    )


async def visible_lorebooks(
    session: AsyncSession, user: AuthUser, ids: Iterable[str | uuid.UUID]
) -> list[Lorebook]:
    """The books of `ids` the caller may see, in the order given (others are skipped)."""
    wanted = []
    for raw in ids:
        try:
            wanted.append(raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw)))
        except ValueError:
            continue
    if not wanted:
        return []
    rows = (
        await session.execute(
            sa.select(Lorebook).where(col(Lorebook.id).in_(wanted), visible_clause(user))
        )
    ).scalars()
    by_id = {b.id: b for b in rows}
    return [by_id[i] for i in dict.fromkeys(wanted) if i in by_id]
