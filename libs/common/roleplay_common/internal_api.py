"""Dependencies shared by the services' internal HTTP APIs: the process runtime and a session
in one transaction (committed when the route returns without error)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from roleplay_common.service import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.db.transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
