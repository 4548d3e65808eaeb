"""Kafka subscribers of the chat service."""

from roleplay_chat.scene_links import link_scene, set_last_scene_image
from roleplay_chat.turns import TurnRunner
from roleplay_common.broker import EventRouter
from roleplay_common.events import (
    EventEnvelope,
    LibraryAssetSaved,
    RequestChatTurn,
    SceneJobCompleted,
)
from roleplay_common.logging import get_logger

log = get_logger(__name__)


def register(router: EventRouter, turns: TurnRunner) -> None:
    """Declare this service's event handlers on `router`."""

    @router.handles(RequestChatTurn, consumer="turns")
    async def on_turn_requested(command: RequestChatTurn, envelope: EventEnvelope) -> None:
        """Record the turn, then stream the reply in the background (one per conversation)."""
        prepared = await turns.accept(command, envelope)
        log.info("turn requested", kind=command.kind, accepted=prepared is not None)
        if prepared is not None:
            turns.schedule(command, envelope, prepared)

    @router.handles(SceneJobCompleted, consumer="scenes")
    async def on_scene_completed(fact: SceneJobCompleted, envelope: EventEnvelope) -> None:
        await link_scene(turns.runtime, fact, envelope)

    @router.handles(LibraryAssetSaved, consumer="library")
    async def on_asset_saved(fact: LibraryAssetSaved, envelope: EventEnvelope) -> None:
        await set_last_scene_image(turns.runtime, fact, envelope)
