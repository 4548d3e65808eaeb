"""Provider webhooks, delivered through the public gateway to the scenes service.

`POST /v1/webhooks/fal/{job_id}?token=…`: the token is the HMAC the scenes service put in the
URL it gave the provider; anything else is a 404. The body goes to the scenes service as is.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from roleplay_common.http import ApiError
from roleplay_common.text import check_json_tree
from roleplay_common.webhooks import valid_token
from roleplay_gateway.deps import SettingsDep
from roleplay_gateway.scenes.endpoints import ScenesDep
from roleplay_gateway.scenes.schemas import WebhookAccepted

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("/fal/{job_id}", status_code=202, response_model=WebhookAccepted)
async def fal_webhook(
    job_id: uuid.UUID,
    settings: SettingsDep,
    scenes: ScenesDep,
    token: Annotated[str, Query(max_length=128)],
    body: Annotated[dict[str, Any], Body(description="The provider's result, passed on as is.")],
) -> dict[str, Any]:
    if not valid_token(settings.webhook_secret.get_secret_value(), str(job_id), token):
        raise ApiError(404, "not_found", "no such webhook")
    try:
        check_json_tree(body)
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"the webhook body {exc}") from exc
    result: dict[str, Any] = await scenes.call(
        "POST", f"/internal/jobs/{job_id}/provider-result", json=body
    )
    return result
