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
from roleplay_gateway.auth.service import AuthUser, ensure_external_user, load_user
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
        subject = tokens.verified_before(
            request.scope, credentials.credentials
        ) or await tokens.verify_async(settings, credentials.credentials)
    except tokens.IssuerUnreachableError as exc:
        raise ApiError(
            503,
            "identity_provider_unavailable",
            "the identity provider cannot be reached",
            headers={"Retry-After": "10"},
        ) from exc
    except tokens.InvalidTokenError as exc:
        raise UNAUTHORIZED from exc
    if subject.external:
        async with runtime.db.transaction() as session:
            user: AuthUser | None = await ensure_external_user(
                session, subject.user_id, email=subject.email, username=subject.username
            )
    else:
        async with runtime.db.reading() as session:
            user = await load_user(session, subject.user_id)
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
