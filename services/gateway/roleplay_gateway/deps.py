"""FastAPI dependencies of the gateway's routes: the process runtime, settings, a session."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from roleplay_common.service import Runtime
from roleplay_gateway.settings import GatewaySettings


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A session in one transaction, committed when the route returns without error and
    before the response is sent (`scope="function"`): a client that got its `201` can read
    what it wrote, and a failed commit is an error answer, never a success."""
    async with runtime.db.transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
