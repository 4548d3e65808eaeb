"""`GET /v1/conversations/{id}/prompt-preview`: what the next turn would send.

The gateway builds the same command a send (or a regenerate, or a continue) would publish —
with `turn_command`, the code the turn itself uses — and asks the chat service to assemble it
without publishing it: nothing is stored or charged. Given the same `Idempotency-Key` as the
send that follows, the preview's seeded draws (`{{random}}`, probabilities) are the turn's.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field

from roleplay_common.http import ApiError
from roleplay_common.text import SafeText
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.conversations.endpoints import ChatDep
from roleplay_gateway.deps import RuntimeDep
from roleplay_gateway.openapi_document import errors
from roleplay_gateway.turns.endpoints import turn_command

router = APIRouter(prefix="/v1", tags=["turns"])


class PromptBlock(BaseModel):
    kind: str = Field(
        description="lore_before, system, lore_after, example, history, depth_prompt, "
        "lore_depth, post_history or instruction"
    )
    source: str
    role: Literal["system", "user", "assistant"]
    text: str
    tokens: int


class ActivatedEntry(BaseModel):
    book_id: uuid.UUID | None = None
    book_name: str = ""
    book_source: Literal["character", "persona", "conversation"]
    entry_id: str
    reason: Literal["key", "constant", "decorator", "recursion"]
    key: str | None = Field(default=None, description="The key that activated it.")
    inserted: bool = Field(description="False when the token budget dropped it.")


class PromptBudget(BaseModel):
    model_key: str
    context_window: int
    max_output_tokens: int
    available: int
    used: int
    lorebook_tokens: int
    history_kept: int
    history_dropped: int
    newest_message_truncated: bool
    fits: bool = Field(description="False: the turn would fail with `prompt_too_large`.")


class UsedMemoryItem(BaseModel):
    id: uuid.UUID
    tier: Literal["conversation", "character", "profile"]
    text: str
    pinned: bool


class PromptPreview(BaseModel):
    blocks: list[PromptBlock]
    messages: list[dict[str, str]] = Field(description="Exactly what the model is sent.")
    lorebook_entries: list[ActivatedEntry]
    memory_items: list[str] = Field(description="The memory summary and the items it carries.")
    memory: list[UsedMemoryItem] = Field(
        default_factory=list, description="The memory items the budget let in, in order."
    )
    budget: PromptBudget


PREVIEW_CONTENT_CHARS = 5_000
"""A query string carries the draft: percent-encoded, one character can take 12 bytes, and the
HTTP server refuses a request head past about 80 KB before the API sees it (a bare 400)."""


@router.get(
    "/conversations/{conversation_id}/prompt-preview",
    response_model=PromptPreview,
    responses=errors(404, 409, 422),
)
async def prompt_preview(
    conversation_id: uuid.UUID,
    request: Request,
    user: CurrentUser,
    runtime: RuntimeDep,
    chat: ChatDep,
    content: Annotated[
        SafeText | None,
        Query(
            min_length=1,
            max_length=PREVIEW_CONTENT_CHARS,
            description="The message about to be sent (a draft longer than this is previewed "
            "by its first part, as the client sends it).",
        ),
    ] = None,
    kind: Annotated[
        Literal["send", "regenerate", "continue"] | None,
        Query(description="Default: `send` with `content`, else `continue`."),
    ] = None,
    model: Annotated[SafeText | None, Query(min_length=1, max_length=200)] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> PromptPreview:
    """The next prompt, block by block, with the activated lorebook entries and the budget."""
    kind = kind or ("send" if content else "continue")
    if kind == "send" and not (content or "").strip():
        raise ApiError(422, "validation_error", "a send needs `content`")
    command = await turn_command(
        request,
        kind,
        conversation_id,
        user=user,
        runtime=runtime,
        chat=chat,
        content=content if kind == "send" else None,
        model=model,
        key=idempotency_key,
    )
    preview = await chat.call(
        "POST", "/internal/prompt-preview", json=command.model_dump(mode="json")
    )
    return PromptPreview.model_validate(preview)
