"""Response shapes of registration, login and the caller's profile."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel


class Profile(BaseModel):
    id: uuid.UUID
    email: str
    username: str
    roles: list[str]
    age_verified: bool
    token_balance: float
    default_persona_id: uuid.UUID | None


class SignedIn(BaseModel):
    """A new or logged-in account: its profile and a bearer token."""

    user: Profile
    access_token: str
    token_type: Literal["bearer"]
