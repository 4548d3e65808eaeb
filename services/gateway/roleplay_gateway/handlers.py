"""Kafka subscribers of the gateway service."""

from roleplay_common.broker import EventRouter
from roleplay_common.service import Runtime


def register(router: EventRouter, runtime: Runtime) -> None:
    """Declare this service's event handlers on `router`."""
