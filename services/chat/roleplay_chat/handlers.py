"""Kafka subscribers of the chat service."""

from roleplay_chat.turns import TurnRunner
from roleplay_common.broker import EventRouter
from roleplay_common.events import EventEnvelope, RequestChatTurn


def register(router: EventRouter, turns: TurnRunner) -> None:
    """Declare this service's event handlers on `router`."""

    @router.handles(RequestChatTurn, consumer="turns")
    async def on_turn_requested(command: RequestChatTurn, envelope: EventEnvelope) -> None:
        """Record the turn, then stream the reply in the background (one per conversation)."""
        if await turns.accept(command, envelope):
            turns.schedule(command, envelope)
