"""The public routers of the gateway, in one list; `app.py` mounts them."""

from fastapi import APIRouter

from roleplay_gateway.admin_dead_letters import router as dead_letters
from roleplay_gateway.auth.endpoints import router as auth
from roleplay_gateway.catalog.endpoints import admin as catalog_admin
from roleplay_gateway.catalog.endpoints import router as models
from roleplay_gateway.characters.card_endpoints import router as cards
from roleplay_gateway.characters.endpoints import router as characters
from roleplay_gateway.characters.portrait_generation import router as portrait_generation
from roleplay_gateway.characters.suggestions import router as character_suggestions
from roleplay_gateway.conversations.endpoints import router as conversations
from roleplay_gateway.conversations.tools import router as conversation_tools
from roleplay_gateway.feed.endpoints import router as feed
from roleplay_gateway.library.endpoints import router as library
from roleplay_gateway.lorebooks.endpoints import router as lorebooks
from roleplay_gateway.memory.endpoints import router as memory
from roleplay_gateway.scenes.endpoints import router as scenes
from roleplay_gateway.scenes.enhance_prompt import router as enhance_prompt
from roleplay_gateway.scenes.webhooks import router as webhooks
from roleplay_gateway.turns.endpoints import router as turns
from roleplay_gateway.turns.impersonate import router as impersonate
from roleplay_gateway.turns.prompt_preview import router as prompt_preview
from roleplay_gateway.usage.endpoints import router as usage
from roleplay_gateway.web import router as web

PUBLIC_ROUTERS: list[APIRouter] = [
    auth,
    character_suggestions,
    characters,
    portrait_generation,
    cards,
    lorebooks,
    conversation_tools,
    conversations,
    memory,
    feed,
    turns,
    impersonate,
    prompt_preview,
    scenes,
    enhance_prompt,
    library,
    models,
    catalog_admin,
    dead_letters,
    usage,
    webhooks,
    web,
]
