"""Accounts: registration, login, loading the caller, the profile, the seeded admin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_common.http import ApiError
from roleplay_common.logging import get_logger
from roleplay_gateway.auth.passwords import hash_password, verify_password
from roleplay_gateway.auth.store import Profile, User, UserRole

log = get_logger(__name__)


@dataclass(frozen=True)
class AuthUser:
    """The caller, as routes see it."""

    id: uuid.UUID
    email: str
    username: str
    roles: list[str]
    age_verified: bool
    default_persona_id: uuid.UUID | None
    token_balance: float = 0.0

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def profile(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "email": self.email,
            "username": self.username,
            "roles": self.roles,
            "age_verified": self.age_verified,
            "token_balance": self.token_balance,
            "default_persona_id": str(self.default_persona_id) if self.default_persona_id else None,
        }


def _caller_query() -> sa.Select[Any]:
    user_id = sa.bindparam("user_id", type_=sa.Uuid())
    roles = (
        sa.select(sa.func.coalesce(sa.func.array_agg(col(UserRole.role)), sa.text("'{}'")))
        .where(col(UserRole.user_id) == user_id)
        .scalar_subquery()
    )
    return (
        sa.select(
            col(User.id),
            col(User.email),
            col(User.username),
            col(Profile.age_verified),
            col(Profile.default_persona_id),
            col(Profile.token_balance),
            roles.label("roles"),
        )
        .outerjoin(Profile, col(Profile.user_id) == col(User.id))
        .where(col(User.id) == user_id)
    )


# Built once: SQLAlchemy keys its compiled-statement cache by walking the statement, and a
# statement built per request is walked per request.
CALLER_QUERY = _caller_query()


async def load_user(session: AsyncSession, user_id: uuid.UUID) -> AuthUser | None:
    """The caller with roles and profile, in one query (it runs on every request)."""
    row = (await session.execute(CALLER_QUERY, {"user_id": user_id})).first()
    if row is None:
        return None
    return AuthUser(
        id=row.id,
        email=row.email,
        username=row.username,
        roles=sorted(row.roles or []),
        age_verified=bool(row.age_verified),
        default_persona_id=row.default_persona_id,
        token_balance=float(row.token_balance or 0),
    )


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    username: str,
    password: str | None,
    roles: list[str],
    user_id: uuid.UUID | None = None,
    external: bool = False,
) -> AuthUser:
    user = User(
        id=user_id or uuid.uuid4(),
        email=email,
        username=username,
        password_hash=await hash_password(password) if password else None,
        external=external,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ApiError(409, "email_taken", "an account with that email exists") from exc
    session.add(Profile(user_id=user.id))
    for role in roles:
        session.add(UserRole(user_id=user.id, role=role))
    await session.flush()
    loaded = await load_user(session, user.id)
    assert loaded is not None
    return loaded


async def ensure_external_user(
    session: AsyncSession, user_id: uuid.UUID, *, email: str | None, username: str | None
) -> AuthUser:
    """The account of an external provider's user, created on first sight (`basic_user`).

    Safe under concurrent first requests: rows are inserted with `ON CONFLICT DO NOTHING`.
    When the token's email belongs to another account, a placeholder address is used.
    """
    existing = await load_user(session, user_id)
    if existing is not None:
        return existing
    name = username or (email.split("@")[0] if email else f"user-{str(user_id)[:8]}")
    for address in (email, f"{user_id}@external.invalid"):
        if address is None:
            continue
        await session.execute(
            insert(User)
            .values(id=user_id, email=address, username=name[:64], external=True)
            .on_conflict_do_nothing()
        )
        if await session.get(User, user_id) is not None:
            break
    await session.execute(insert(Profile).values(user_id=user_id).on_conflict_do_nothing())
    await session.execute(
        insert(UserRole).values(user_id=user_id, role="basic_user").on_conflict_do_nothing()
    )
    loaded = await load_user(session, user_id)
    assert loaded is not None
    return loaded


async def find_by_email(session: AsyncSession, email: str) -> User | None:
    return (
        await session.execute(
            sa.select(User).where(sa.func.lower(col(User.email)) == email.lower())
        )
    ).scalar_one_or_none()


async def authenticate(session: AsyncSession, email: str, password: str) -> AuthUser:
    user = await find_by_email(session, email)
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        raise ApiError(401, "invalid_credentials", "wrong email or password")
    loaded = await load_user(session, user.id)
    assert loaded is not None
    return loaded


async def update_profile(session: AsyncSession, user: AuthUser, changes: dict[str, Any]) -> None:
    if "username" in changes:
        await session.execute(
            sa.update(User)
            .where(col(User.id) == user.id)
            .values(username=changes["username"], updated_at=datetime.now(UTC))
        )
    profile_changes = {
        k: v for k, v in changes.items() if k in ("age_verified", "default_persona_id")
    }
    if profile_changes:
        await session.execute(
            sa.update(Profile)
            .where(col(Profile.user_id) == user.id)
            .values(**profile_changes, updated_at=datetime.now(UTC))
        )


async def ensure_admin(session: AsyncSession, email: str, password: str) -> uuid.UUID:
    """The configured admin account: created once; when the configured password changed,
    the new one replaces the old (the environment is the source of truth for it)."""
    existing = await find_by_email(session, email)
    if existing is not None:
        if not await verify_password(existing.password_hash, password):
            existing.password_hash = await hash_password(password)
            log.warning("admin password replaced by the configured one", email=email)
        return existing.id
    admin = await create_user(
        session, email=email, username="admin", password=password, roles=["admin"]
    )
    await session.execute(
        sa.update(Profile).where(col(Profile.user_id) == admin.id).values(age_verified=True)
    )
    return admin.id
