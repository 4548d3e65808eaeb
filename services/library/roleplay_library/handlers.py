"""Kafka subscribers of the library service."""

from roleplay_common.broker import EventRouter
from roleplay_common.events import EventEnvelope, KeepScene
from roleplay_common.service import Runtime
from roleplay_library.keep import keep_scene


def register(router: EventRouter, runtime: Runtime) -> None:
    """Declare this service's event handlers on `router`."""

    @router.handles(KeepScene, consumer="keep")
    async def on_keep_requested(command: KeepScene, envelope: EventEnvelope) -> None:
        await keep_scene(runtime, command, envelope)
