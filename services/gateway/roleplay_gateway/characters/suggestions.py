"""`POST /v1/characters/suggestions`: card fields written by a model from a name and a
description (the seed's character suggestions).

Only the card's text fields and lists of text can be asked for (`fields`, validated: anything
else is a `422`). One model call asks for a JSON object of those fields by schema; the chat
service makes it with the usual routing and fallback (the `suggestions` task's models, else the
roleplay ones) and usage counts it (`character_suggestions`). Nothing is stored.
"""

from __future__ import annotations

from typing import Self

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, model_validator

from roleplay_common.http import ApiError
from roleplay_common.text import SafeText
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.completions import CompletionsDep, complete, helper_routes
from roleplay_gateway.deps import SessionDep
from roleplay_gateway.domain.helper_prompts import (
    SUGGESTIBLE_FIELDS,
    SuggestibleField,
    read_suggestions,
    suggestion_messages,
    suggestion_schema,
)
from roleplay_gateway.openapi_document import errors

router = APIRouter(prefix="/v1", tags=["characters"])


class SuggestionRequest(BaseModel):
    name: SafeText | None = Field(default=None, max_length=120)
    description: SafeText | None = Field(default=None, max_length=20_000)
    fields: list[SuggestibleField] = Field(
        min_length=1,
        max_length=len(SUGGESTIBLE_FIELDS),
        description="The card fields to write.",
    )
    model: SafeText | None = Field(
        default=None, max_length=200, description="A chat model key to write with."
    )

    @model_validator(mode="after")
    def something_to_go_on(self) -> Self:
        if not (self.name or "").strip() and not (self.description or "").strip():
            raise ValueError("give a name or a description to write from")
        if len(set(self.fields)) != len(self.fields):
            raise ValueError("each field may be asked for once")
        return self


class CharacterSuggestions(BaseModel):
    suggestions: dict[str, str | list[str]] = Field(
        description="A value for each field asked for (a list for list fields)."
    )


@router.post(
    "/characters/suggestions", response_model=CharacterSuggestions, responses=errors(402, 503)
)
async def suggest_fields(
    body: SuggestionRequest,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    completions: CompletionsDep,
) -> CharacterSuggestions:
    """Write the named card fields from a name and a description; one model call, counted."""
    routes = await helper_routes(session, body.model, task="suggestions")
    check = getattr(request.app.state, "quota_check", None)
    if check is not None:
        await check(user.id)
    answer = await complete(
        completions,
        user_id=user.id,
        request_type="character_suggestions",
        routes=routes,
        messages=suggestion_messages(body.fields, name=body.name, description=body.description),
        max_tokens=min(200 + 250 * len(body.fields), 2000),
        temperature=0.8,
        json_schema=suggestion_schema(body.fields),
        correlation_id=getattr(request.state, "correlation_id", None),
    )
    suggestions = read_suggestions(answer, body.fields)
    if not suggestions:
        raise ApiError(
            503,
            "model_answer_unusable",
            "the model's answer held none of the fields; try again",
            headers={"Retry-After": "5"},
        )
    return CharacterSuggestions(suggestions=suggestions)
