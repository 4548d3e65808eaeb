"""OpenAI-compatible `POST /v1/images/generations` (and `/v1/images/edits` with a JSON
`image` URL): `data: [{b64_json}]` or `[{url}]` by `response_format`."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from roleplay_standin.images import render_png
from roleplay_standin.knobs import Knobs

router = APIRouter()


@router.post("/v1/images/generations")
@router.post("/v1/images/edits")
async def generate(request: Request) -> Response:
    knobs: Knobs = request.app.state.knobs
    try:
        body: dict[str, Any] = await request.json()
        prompt = str(body["prompt"])
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": {"message": "`prompt` is required"}}, status_code=400)
    request.app.state.requests.append({"path": request.url.path, "body": body})
    failure = knobs.take_failure("images", str(body.get("model")))
    if failure is not None and failure.kind == "status":
        return JSONResponse({"error": {"message": "injected failure"}}, status_code=failure.status)
    width, _, height = str(
        body.get("size") or f"{knobs.config.image_size}x{knobs.config.image_size}"
    ).partition("x")
    data = render_png(prompt, int(width), int(height or width), knobs.config.image_pad_bytes)
    if body.get("response_format") == "url":
        name = f"{uuid.uuid4()}.png"
        request.app.state.files[name] = data
        item = {"url": f"{request.app.state.public_url}/files/{name}"}
    else:
        item = {"b64_json": base64.b64encode(data).decode()}
    return JSONResponse({"created": int(time.time()), "data": [{**item, "revised_prompt": prompt}]})
