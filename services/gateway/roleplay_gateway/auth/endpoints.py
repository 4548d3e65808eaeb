"""`/v1/auth/register`, `/v1/auth/login`, `GET|PATCH /v1/me`.

Logins are throttled per account and per client address (`GATEWAY_LOGIN_*`): past the
allowed failures in a window, `429` with `Retry-After` before any password is checked.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from roleplay_common.changes import Changes
from roleplay_common.http import ApiError
from roleplay_common.text import SafeText
from roleplay_gateway.auth import tokens
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.auth.schemas import Profile, SignedIn
from roleplay_gateway.auth.service import authenticate, create_user, load_user, update_profile
from roleplay_gateway.characters.service import visible_character
from roleplay_gateway.deps import SessionDep, SettingsDep
from roleplay_gateway.limits_store import SharedLimits, retry_after
from roleplay_gateway.openapi_document import errors

router = APIRouter(prefix="/v1", tags=["auth"])

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Register(BaseModel):
    email: SafeText = Field(pattern=EMAIL, max_length=320)
    password: SafeText = Field(min_length=8, max_length=256)
    username: SafeText = Field(min_length=1, max_length=64)


class Login(BaseModel):
    email: SafeText = Field(pattern=EMAIL, max_length=320)
    password: SafeText = Field(min_length=1, max_length=256)


class ProfileUpdate(Changes):
    nullable = frozenset({"default_persona_id"})

    username: SafeText | None = Field(default=None, min_length=1, max_length=64)
    age_verified: bool | None = None
    default_persona_id: uuid.UUID | None = None


@router.post("/auth/register", status_code=201, response_model=SignedIn, responses=errors(409))
async def register(body: Register, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    user = await create_user(
        session,
        email=body.email,
        username=body.username,
        password=body.password,
        roles=["basic_user"],
    )
    token = tokens.issue(settings, user.id, user.roles)
    return {"user": user.profile(), "access_token": token, "token_type": "bearer"}


@router.post("/auth/login", response_model=SignedIn, responses=errors(401))
async def login(
    body: Login, request: Request, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    limits: SharedLimits = request.app.state.limits
    address = request.client.host if request.client else "unknown"
    wait = await limits.count_login(body.email, address)
    if wait > 0:
        raise ApiError(
            429,
            "too_many_login_attempts",
            "too many failed logins; try again later",
            headers={"Retry-After": retry_after(wait)},
        )
    user = await authenticate(session, body.email, body.password)
    await limits.login_succeeded(body.email, address)
    token = tokens.issue(settings, user.id, user.roles)
    return {"access_token": token, "token_type": "bearer", "user": user.profile()}


@router.get("/me", response_model=Profile)
async def me(user: CurrentUser) -> dict[str, Any]:
    return user.profile()


@router.patch("/me", response_model=Profile, responses=errors(404))
async def update_me(body: ProfileUpdate, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    persona_id = changes.get("default_persona_id")
    if persona_id is not None:
        await visible_character(session, user, persona_id, role="user", what="persona")
    await update_profile(session, user, changes)
    updated = await load_user(session, user.id)
    assert updated is not None
    return updated.profile()
