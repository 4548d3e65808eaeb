"""Chat events: the turn command and the facts of a turn as it streams.

`RequestChatTurn` carries everything the chat service needs as it was at request time — the
character card, the persona, the prompt template and the model route — so replaying it
reproduces the same work. Turn facts are keyed by conversation, so one partition carries a
conversation's turns in order.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from roleplay_common.events.envelope import Event
from roleplay_common.text import SafeText

TurnKind = Literal["send", "regenerate", "continue", "impersonate"]
ContentRating = Literal["sfw", "nsfw"]
PromptRole = Literal["system", "user", "assistant"]


class LorebookEntry(BaseModel):
    """One world-info entry, in the contract's shape (`api.md`, Lorebooks).

    V3 decorators (`@@depth 4`, ...) stay inside `content`; the chat service reads them.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    keys: list[str] = Field(default_factory=list)
    secondary_keys: list[str] = Field(default_factory=list)
    selective_logic: Literal["and_any", "and_all", "not_any", "not_all"] = "and_any"
    content: str = ""
    enabled: bool = True
    constant: bool = False
    insertion_order: int = 100
    priority: int | None = Field(
        default=None, description="Lower is dropped first when over the token budget."
    )
    position: Literal["before_char", "after_char", "at_depth"] = "before_char"
    depth: int | None = None
    role: PromptRole | None = None
    case_sensitive: bool = False
    match_whole_words: bool = False
    use_regex: bool = False
    probability: int | None = Field(default=None, ge=0, le=100)
    comment: str = ""
    extensions: dict[str, object] = Field(default_factory=dict)


class Lorebook(BaseModel):
    """A lorebook as the turn uses it: the character's own, or one attached to the persona or
    the conversation."""

    model_config = ConfigDict(frozen=True)

    id: UUID | None = None
    name: str = ""
    source: Literal["character", "persona", "conversation"] = "conversation"
    scan_depth: int | None = None
    token_budget: int | None = None
    recursive_scanning: bool = False
    entries: list[LorebookEntry] = Field(default_factory=list)


class DepthPrompt(BaseModel):
    """SillyTavern's `extensions.depth_prompt`: text inserted `depth` messages from the end."""

    model_config = ConfigDict(frozen=True)

    prompt: str
    depth: int = 4
    role: PromptRole = "system"


class SceneContext(BaseModel):
    """The conversation's scene template, as the prompt uses it."""

    model_config = ConfigDict(frozen=True)

    id: UUID | None = None
    name: str = ""
    setting: str = ""
    scenario: str = ""
    atmosphere: str = ""
    starters: list[str] = Field(default_factory=list)


class CharacterCard(BaseModel):
    """Snapshot of a character (role `ai`) or a persona (role `user`) at request time."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    role: Literal["ai", "user"] = "ai"
    name: str
    description: str = ""
    persona: str = ""
    system_prompt: str = ""
    first_message: str = ""
    alternate_greetings: list[str] = Field(default_factory=list)
    example_dialogue: str = ""
    scenario: str = ""
    content_rating: ContentRating = "sfw"
    scene_behavior_rules: dict[str, object] = Field(default_factory=dict)
    consistency_method: str | None = None
    appearance_tags: list[str] = Field(default_factory=list)
    image_url: str | None = None
    nickname: str = Field(default="", description="Replaces the name in `{{char}}` (V3).")
    post_history_instructions: str = ""
    depth_prompt: DepthPrompt | None = None
    lorebook: Lorebook | None = Field(
        default=None, description="The character's embedded book (or the persona's own)."
    )


class PromptTemplate(BaseModel):
    """Snapshot of the prompt template chosen for the turn (placeholders unfilled)."""

    model_config = ConfigDict(frozen=True)

    id: UUID | None = None
    name: str
    use_case: str = "character_roleplay"
    content_mode: ContentRating = "sfw"
    target_model: str | None = None
    system_prompt: str


class ModelRoute(BaseModel):
    """One candidate model with its provider, in the order the turn should try them."""

    model_config = ConfigDict(frozen=True)

    model_key: str = Field(description="Our key of the model (models table).")
    model_name: str = Field(description="The provider's id of the model.")
    display_name: str = ""
    provider: str
    provider_kind: Literal[
        "openai_compatible", "local_worker", "fal", "replicate", "openai_images"
    ] = "openai_compatible"
    base_url: str
    api_key_env: str | None = Field(
        default=None, description="Name of the environment variable holding the key."
    )
    context_window: int = 8192
    max_output_tokens: int = 512
    priority: int = 0
    timeout_seconds: float = 60.0
    max_concurrent_streams: int = Field(
        default=4096, description="Streams the model serves at once (from the catalog)."
    )
    input_cost_per_mtok: Decimal = Decimal(0)
    output_cost_per_mtok: Decimal = Decimal(0)
    cost_per_image: Decimal = Decimal(0)
    health_url: str | None = None
    task: str | None = Field(default=None, description="The catalog task the model serves.")


MAX_STOP_STRINGS = 4


class SamplerSettings(BaseModel):
    """A conversation's (or a character's default) generation settings, as a client sets them:
    every field optional; what is unset falls back to the character's, then the defaults."""

    model_config = ConfigDict(extra="forbid")

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1, le=32_768)
    stop: list[Annotated[SafeText, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=MAX_STOP_STRINGS
    )
    author_note: SafeText | None = Field(default=None, max_length=4_000)
    author_note_depth: int | None = Field(
        default=None, ge=0, le=100, description="Messages from the end (0: after the newest)."
    )


class GenerationSettings(BaseModel):
    """The effective settings a turn runs with."""

    model_config = ConfigDict(frozen=True)

    temperature: float = 0.8
    max_tokens: int | None = None
    top_p: float | None = None
    stop: list[str] = Field(default_factory=list)
    author_note: str = ""
    author_note_depth: int = 4

    @classmethod
    def layered(cls, *layers: dict[str, object] | None) -> GenerationSettings:
        """Defaults, then each layer's set values in order (the character's, then the
        conversation's); an invalid stored layer counts for nothing."""
        merged: dict[str, object] = {}
        for layer in layers:
            if not layer:
                continue
            try:
                values = SamplerSettings.model_validate(layer).model_dump(exclude_none=True)
            except ValueError:
                continue
            merged.update(values)
        return cls.model_validate(merged)


class RequestChatTurn(Event):
    """Command: produce the assistant's reply for one turn of a conversation."""

    event_type: ClassVar[str] = "chat.turn.requested"
    topic: ClassVar[str] = "chat.turns"

    turn_id: UUID
    conversation_id: UUID
    user_id: UUID
    kind: TurnKind
    user_message_id: UUID | None = None
    content: str | None = None
    client_message_id: str | None = None
    character: CharacterCard
    persona: CharacterCard | None = None
    template: PromptTemplate | None = None
    routes: list[ModelRoute]
    content_mode: ContentRating = "sfw"
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    lorebooks: list[Lorebook] = Field(
        default_factory=list,
        description="Books attached to the persona and the conversation (the character's own "
        "travels in `character.lorebook`).",
    )
    scene: SceneContext | None = None
    memory_routes: list[ModelRoute] = Field(
        default_factory=list,
        description="The catalog's `memory` task models, tried in order to update memory "
        "after the reply (none: the reply's model).",
    )
    requested_at: datetime

    def partition_key(self) -> str:
        return str(self.conversation_id)


class TurnFact(Event):
    """Base of the facts of a turn; all keyed by conversation."""

    turn_id: UUID
    conversation_id: UUID
    user_id: UUID

    def partition_key(self) -> str:
        return str(self.conversation_id)


class ChatTurnStarted(TurnFact):
    event_type: ClassVar[str] = "chat.turn.started"
    topic: ClassVar[str] = "chat.turn.events"

    kind: TurnKind
    user_message_id: UUID | None = None
    model_key: str


class MemoryUpdated(Event):
    """The memory a conversation draws on changed: extracted after a turn, or edited."""

    event_type: ClassVar[str] = "chat.memory.updated"
    topic: ClassVar[str] = "chat.turn.events"

    conversation_id: UUID
    user_id: UUID
    item_ids: list[UUID] = Field(default_factory=list, description="Items added or changed.")
    summary_changed: bool = False

    def partition_key(self) -> str:
        return str(self.conversation_id)


class ChatTurnDelta(TurnFact):
    """One piece of the streamed reply; `seq` counts from 1 without gaps within a turn.

    Deltas are nearly all the records of a turn, and only the gateways' turn streams read
    them, so they have a topic of their own: consumers of the turn's facts never see them.
    """

    event_type: ClassVar[str] = "chat.turn.delta"
    topic: ClassVar[str] = "chat.turn.deltas"

    seq: int
    text: str


class ChatTurnRestarted(TurnFact):
    """The reply starts over: the instance that streamed it stopped, and another took the turn
    over. Readers drop the text of the deltas before this one; `seq` continues, so the
    stream has no gap, and the stored reply is the text of the deltas after it."""

    event_type: ClassVar[str] = "chat.turn.restarted"
    topic: ClassVar[str] = "chat.turn.deltas"

    seq: int
    reason: str


class TurnUsage(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: str
    model: str
    tokens_in: int
    tokens_out: int
    cost: Decimal
    latency_ms: int
    first_token_ms: int | None = None


class LorebookActivation(BaseModel):
    """One lorebook entry a turn activated, and whether it fitted the prompt."""

    model_config = ConfigDict(frozen=True)

    book_id: UUID | None = None
    book_name: str = ""
    book_source: Literal["character", "persona", "conversation"] = "conversation"
    entry_id: str
    reason: Literal["key", "constant", "decorator", "recursion"]
    key: str | None = Field(default=None, description="The key that matched, for `key`.")
    inserted: bool = Field(description="False when the token budget dropped it.")


class ChatTurnCompleted(TurnFact):
    event_type: ClassVar[str] = "chat.turn.completed"
    topic: ClassVar[str] = "chat.turn.events"

    message: dict[str, object] = Field(
        description="The stored assistant message, as the API shows it."
    )
    usage: TurnUsage
    deltas: int = Field(description="How many deltas were sent; the completion's seq is this + 1.")
    lorebook_activations: list[LorebookActivation] = Field(
        default_factory=list,
        description="What the prompt's lorebooks activated (replaying the command activates "
        "the same: probability draws are seeded by the turn).",
    )


class TurnError(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str


class ChatTurnFailed(TurnFact):
    event_type: ClassVar[str] = "chat.turn.failed"
    topic: ClassVar[str] = "chat.turn.events"

    error: TurnError
    deltas: int = 0


class MessageFact(Event):
    """Base of the facts of a stored message; keyed by conversation."""

    conversation_id: UUID
    user_id: UUID
    message_id: UUID
    last_message_preview: str = Field(description="The conversation's preview after the change.")

    def partition_key(self) -> str:
        return str(self.conversation_id)


class ChatMessageEdited(MessageFact):
    event_type: ClassVar[str] = "chat.message.edited"
    topic: ClassVar[str] = "chat.message.events"

    message: dict[str, object] = Field(description="The message as the API shows it now.")


class ChatMessageDeleted(MessageFact):
    event_type: ClassVar[str] = "chat.message.deleted"
    topic: ClassVar[str] = "chat.message.events"
