"""Event envelope and payload models shared by all services (no business rules).

Importing this package registers every payload model, so any envelope can be decoded.
"""

from roleplay_common.events.chat import (
    CharacterCard,
    ChatTurnCompleted,
    ChatTurnDelta,
    ChatTurnFailed,
    ChatTurnStarted,
    DepthPrompt,
    GenerationSettings,
    Lorebook,
    LorebookActivation,
    LorebookEntry,
    MemoryUpdated,
    ModelRoute,
    PromptTemplate,
    RequestChatTurn,
    SceneContext,
    TurnError,
    TurnUsage,
)
from roleplay_common.events.dead_letter import EventDeadLettered
from roleplay_common.events.diagnostics import Ping, Pong
from roleplay_common.events.envelope import (
    Event,
    EventEnvelope,
    UnknownEventError,
    event_class,
    register_upcaster,
    registered_events,
)
from roleplay_common.events.library import KeepScene, LibraryAssetDeleted, LibraryAssetSaved
from roleplay_common.events.scenes import (
    Modification,
    RecentMessage,
    RequestSceneJob,
    SceneJobCompleted,
    SceneJobFailed,
    SceneJobProgressed,
    SceneTemplateCard,
    StoredImage,
)
from roleplay_common.events.usage import UsageBalanceChanged, UsageRecorded

__all__ = [
    "CharacterCard",
    "ChatTurnCompleted",
    "ChatTurnDelta",
    "ChatTurnFailed",
    "ChatTurnStarted",
    "DepthPrompt",
    "Event",
    "EventDeadLettered",
    "EventEnvelope",
    "GenerationSettings",
    "KeepScene",
    "LibraryAssetDeleted",
    "LibraryAssetSaved",
    "Lorebook",
    "LorebookActivation",
    "LorebookEntry",
    "MemoryUpdated",
    "ModelRoute",
    "Modification",
    "Ping",
    "Pong",
    "PromptTemplate",
    "RecentMessage",
    "RequestChatTurn",
    "RequestSceneJob",
    "SceneContext",
    "SceneJobCompleted",
    "SceneJobFailed",
    "SceneJobProgressed",
    "SceneTemplateCard",
    "StoredImage",
    "TurnError",
    "TurnUsage",
    "UnknownEventError",
    "UsageBalanceChanged",
    "UsageRecorded",
    "event_class",
    "register_upcaster",
    "registered_events",
]
