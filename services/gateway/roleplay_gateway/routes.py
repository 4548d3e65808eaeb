"""The public routers of the gateway, in one list; `app.py` mounts them."""

from fastapi import APIRouter

from roleplay_gateway.auth.endpoints import router as auth
from roleplay_gateway.catalog.endpoints import admin as catalog_admin
from roleplay_gateway.catalog.endpoints import router as models
from roleplay_gateway.characters.card_endpoints import router as cards
from roleplay_gateway.characters.endpoints import router as characters
from roleplay_gateway.characters.portrait_generation import router as portrait_generation
from roleplay_gateway.conversations.endpoints import router as conversations
from roleplay_gateway.feed.endpoints import router as feed
from roleplay_gateway.library.endpoints import router as library
from roleplay_gateway.lorebooks.endpoints import router as lorebooks
from roleplay_gateway.scenes.endpoints import router as scenes
from roleplay_gateway.scenes.webhooks import router as webhooks
from roleplay_gateway.turns.endpoints import router as turns
from roleplay_gateway.turns.prompt_preview import router as prompt_preview
from roleplay_gateway.usage.endpoints import router as usage
from roleplay_gateway.web import router as web

PUBLIC_ROUTERS: list[APIRouter] = [
    auth,
    characters,
    portrait_generation,
    cards,
    lorebooks,
    conversations,
    feed,
    turns,
    prompt_preview,
    scenes,
    library,
    models,
    catalog_admin,
    usage,
    webhooks,
    web,
]
