"""`POST /v1/scenes/enhance-prompt`: a scene prompt rewritten by a model (the seed's
enhance-prompt), in the light of a conversation when one is named.

The instructions are the newest active prompt template of use case `enhancement` for the
content mode (the character's rating with a conversation, else `sfw`), or the built-in ones.
The model is the requested one, else the `enhancement` task's, else the roleplay models; the
chat service calls it and usage counts it (`prompt_enhancement`).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from roleplay_common.http import ApiError
from roleplay_common.text import SafeText
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.catalog.routing import select_prompt_template
from roleplay_gateway.characters.service import character_card
from roleplay_gateway.completions import CompletionsDep, complete, helper_routes
from roleplay_gateway.conversations.endpoints import ChatDep
from roleplay_gateway.deps import SessionDep
from roleplay_gateway.domain.helper_prompts import (
    SceneContext,
    enhance_messages,
    read_enhanced,
)
from roleplay_gateway.openapi_document import errors

router = APIRouter(prefix="/v1", tags=["scenes"])
RECENT_MESSAGES = 6


class EnhancePromptRequest(BaseModel):
    prompt: SafeText = Field(min_length=1, max_length=4000)
    conversation_id: uuid.UUID | None = Field(
        default=None, description="Whose character and latest messages the prompt should fit."
    )
    model: SafeText | None = Field(
        default=None, max_length=200, description="A chat model key to enhance with."
    )


class EnhancedPrompt(BaseModel):
    prompt: str


@router.post(
    "/scenes/enhance-prompt", response_model=EnhancedPrompt, responses=errors(402, 404, 503)
)
async def enhance_prompt(
    body: EnhancePromptRequest,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    chat: ChatDep,
    completions: CompletionsDep,
) -> dict[str, Any]:
    """Rewrite a scene prompt richer and more concrete; one model call, counted in usage."""
    context, content_mode = None, "sfw"
    if body.conversation_id is not None:
        path = f"/internal/conversations/{body.conversation_id}"
        conversation = await chat.call("GET", path, user_id=user.id)
        page = await chat.call(
            "GET", f"{path}/messages", user_id=user.id, params={"limit": RECENT_MESSAGES}
        )
        try:
            character = await character_card(
                session, user, uuid.UUID(conversation["character_id"]), role="ai"
            )
            name, tags, content_mode = (
                character.name,
                character.appearance_tags,
                character.content_rating,
            )
        except ApiError:
            name, tags = "", []  # the character is no longer visible to this user
        context = SceneContext(
            character_name=name,
            appearance_tags=tags,
            recent=[(m["sender"], m["content"]) for m in page["items"]],
        )
    template = await select_prompt_template(
        session, use_case="enhancement", target_model=None, content_mode=content_mode
    )
    routes = await helper_routes(session, body.model, task="enhancement")
    check = getattr(request.app.state, "quota_check", None)
    if check is not None:
        await check(user.id)
    answer = await complete(
        completions,
        user_id=user.id,
        request_type="prompt_enhancement",
        routes=routes,
        messages=enhance_messages(
            body.prompt,
            instructions=template.system_prompt if template else None,
            context=context,
        ),
        max_tokens=400,
        temperature=0.7,
        correlation_id=getattr(request.state, "correlation_id", None),
    )
    return {"prompt": read_enhanced(answer, body.prompt)}
