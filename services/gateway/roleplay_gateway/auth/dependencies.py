"""Who is calling: `CurrentUser` (401 without a valid token) and `AdminUser` (403 otherwise).

A token from the external identity provider whose user we have never seen gets an account
on first sight (role `basic_user`), so its `sub` is the user id everywhere.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from roleplay_common.http import ApiError
from roleplay_gateway.auth import tokens
from roleplay_gateway.auth.service import AuthUser, create_user, load_user
from roleplay_gateway.deps import RuntimeDep, SettingsDep

_bearer = HTTPBearer(auto_error=False)

UNAUTHORIZED = ApiError(
    401, "unauthorized", "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
)


async def current_user(
    request: Request,
    runtime: RuntimeDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthUser:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UNAUTHORIZED
    try:
        user_id, external = tokens.decode(settings, credentials.credentials)
    except tokens.InvalidTokenError as exc:
        raise UNAUTHORIZED from exc
    async with runtime.db.transaction() as session:
        user = await load_user(session, user_id)
        if user is None and external:
            user = await create_user(
                session,
                user_id=user_id,
                email=f"{user_id}@external.invalid",
                username=f"user-{str(user_id)[:8]}",
                password=None,
                roles=["basic_user"],
                external=True,
            )
    if user is None:
        raise UNAUTHORIZED
    request.state.user_id = user.id
    return user


async def admin_user(user: Annotated[AuthUser, Depends(current_user)]) -> AuthUser:
    if not user.is_admin:
        raise ApiError(403, "forbidden", "this route needs the admin role")
    return user


CurrentUser = Annotated[AuthUser, Depends(current_user)]
AdminUser = Annotated[AuthUser, Depends(admin_user)]

__all__ = ["AdminUser", "AuthUser", "CurrentUser", "admin_user", "current_user"]
