"""Tables of identity: users, their roles and profiles (schema `identity`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

ROLES = ("admin", "moderator", "premium_user", "basic_user", "guest")


def _now() -> datetime:
    return datetime.now(UTC)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = {"schema": "identity"}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str
    username: str
    password_hash: str | None = None
    external: bool = False
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))


class UserRole(SQLModel, table=True):
    __tablename__ = "user_roles"
    __table_args__ = {"schema": "identity"}

    user_id: uuid.UUID = Field(primary_key=True)
    role: str = Field(primary_key=True)


class Profile(SQLModel, table=True):
    __tablename__ = "profiles"
    __table_args__ = {"schema": "identity"}

    user_id: uuid.UUID = Field(primary_key=True)
    age_verified: bool = False
    token_balance: Decimal = Field(default=Decimal(0), sa_type=sa.Numeric(18, 6))
    default_persona_id: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=_now, sa_type=sa.DateTime(timezone=True))
