"""The public routers of the gateway, in one list; `app.py` mounts them."""

from fastapi import APIRouter

PUBLIC_ROUTERS: list[APIRouter] = []
