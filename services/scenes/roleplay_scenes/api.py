"""Internal HTTP API of the scenes service (called by other services, not by clients)."""

from fastapi import APIRouter

router = APIRouter(prefix="/internal", tags=["internal"])
