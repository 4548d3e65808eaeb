"""`POST /internal/prompt-preview`: the prompt a turn command would send, block by block.

The command is the one the gateway would publish; nothing is published, stored or charged.
History and memory are read as the turn's acceptance reads them (a `send` adds the command's
message as the newest), and the prompt is planned and assembled by the same functions as the
turn, for the command's first route.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from roleplay_chat.domain.prompt import (
    HistoryMessage,
    activation_records,
    assemble,
    plan_prompt,
)
from roleplay_chat.domain.tokens import counter_for
from roleplay_chat.memory_store import conversation_memory
from roleplay_chat.settings import ChatSettings
from roleplay_chat.store import get_conversation, recent_history
from roleplay_common.events import LorebookActivation, RequestChatTurn
from roleplay_common.http import ApiError, not_found
from roleplay_common.internal_api import ReadSessionDep

router = APIRouter(prefix="/internal", tags=["internal"])


class PreviewBlock(BaseModel):
    kind: str = Field(description="lore_before, system, lore_after, example, history, ...")
    source: str
    role: Literal["system", "user", "assistant"]
    text: str
    tokens: int


class PreviewBudget(BaseModel):
    model_key: str
    context_window: int
    max_output_tokens: int
    available: int = Field(description="The context window less the reply's tokens.")
    used: int = Field(description="Tokens of the prompt as sent.")
    lorebook_tokens: int
    history_kept: int
    history_dropped: int
    newest_message_truncated: bool
    fits: bool = Field(description="False: the turn would fail with `prompt_too_large`.")


class PreviewMemoryItem(BaseModel):
    id: str
    tier: str
    text: str
    pinned: bool


class PromptPreview(BaseModel):
    blocks: list[PreviewBlock]
    messages: list[dict[str, str]] = Field(description="Exactly what the provider is sent.")
    lorebook_entries: list[LorebookActivation]
    memory_items: list[str] = Field(description="The memory summary and the items it carries.")
    memory: list[PreviewMemoryItem] = Field(
        default_factory=list, description="The memory items the budget let in, in order."
    )
    budget: PreviewBudget


@router.post("/prompt-preview", response_model=PromptPreview)
async def prompt_preview(
    command: RequestChatTurn, request: Request, session: ReadSessionDep
) -> PromptPreview:
    if not command.routes:
        raise ApiError(422, "no_model", "the command names no model route")
    conversation = await get_conversation(session, command.conversation_id)
    if conversation is None or conversation.user_id != command.user_id:
        raise not_found("conversation")
    settings: ChatSettings = request.app.state.turns.settings
    recent = await recent_history(session, command.conversation_id, limit=settings.history_limit)
    messages, total = recent.messages, recent.total
    if command.kind == "regenerate":
        last = max(
            (i for i, (sender, _) in enumerate(messages) if sender == "assistant"), default=None
        )
        if last is not None:
            messages, total = messages[:last], total - (len(messages) - last)
    history = [HistoryMessage(sender, content) for sender, content in messages]
    if command.kind == "send" and command.content:
        history = [*history, HistoryMessage("user", command.content)][-settings.history_limit :]
        total += 1
    memory = await conversation_memory(session, conversation)
    route = command.routes[0]
    max_output = command.generation.max_tokens or route.max_output_tokens
    prompt = assemble(
        plan_prompt(command, history, memory=memory, message_count=total),
        context_window=route.context_window,
        max_output_tokens=max_output,
        count=counter_for(route.model_name),
    )
    return PromptPreview(
        blocks=[PreviewBlock(**vars(b)) for b in prompt.blocks],
        messages=prompt.messages,
        lorebook_entries=activation_records(prompt),
        memory_items=[
            t for t in (memory.summary, *memory.facts, *(n.text for n in prompt.memory)) if t
        ],
        memory=[PreviewMemoryItem(**vars(n)) for n in prompt.memory],
        budget=PreviewBudget(
            model_key=route.model_key,
            context_window=route.context_window,
            max_output_tokens=max_output,
            available=prompt.budget,
            used=prompt.tokens_in,
            lorebook_tokens=prompt.lore.tokens,
            history_kept=prompt.kept,
            history_dropped=prompt.dropped,
            newest_message_truncated=prompt.truncated,
            fits=prompt.fits,
        ),
    )
