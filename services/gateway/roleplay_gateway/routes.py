"""The public routers of the gateway, in one list; `app.py` mounts them."""

from fastapi import APIRouter

from roleplay_gateway.conversations.endpoints import router as conversations
from roleplay_gateway.turns.endpoints import router as turns

PUBLIC_ROUTERS: list[APIRouter] = [conversations, turns]
