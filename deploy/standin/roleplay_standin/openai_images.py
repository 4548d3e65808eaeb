"""STAND-IN OpenAI-compatible images: `POST /v1/images/generations` and `/v1/images/edits`.

Generations take JSON `{model, prompt, n?, size?, response_format?}`; edits take the same as
multipart form data with `image` file(s) (as OpenAI's API does) or as JSON with `image` a URL
(as some compatible servers accept). The answer is `{created, data: [{b64_json} | {url},
revised_prompt]}` by `response_format` (default `url`, as dall-e; `b64_json` for `gpt-image*`
models, which only return that). Answers come after `image_job_ms`.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from roleplay_standin.failure_responses import (
    error_response,
    injected_error,
    json_answer,
    json_body,
    key_accepted,
    unauthorized,
)
from roleplay_standin.images import (
    ImageSpec,
    image_count,
    openai_image_size,
    prompt_seed,
    render,
)
from roleplay_standin.state import state_of

router = APIRouter(tags=["images (OpenAI-compatible)"])


@router.post("/v1/images/generations")
async def generations(request: Request) -> Response:
    return await _images(request, edit=False)


@router.post("/v1/images/edits")
async def edits(request: Request) -> Response:
    return await _images(request, edit=True)


async def _form_body(request: Request) -> dict[str, Any]:
    """Multipart fields as a dict; files are described (name, type, size), not kept."""
    body: dict[str, Any] = {}
    async with request.form() as form:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                size = len(await value.read())
                item: Any = {
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "bytes": size,
                }
                body.setdefault(key.removesuffix("[]"), []).append(item)
            else:
                body[key] = value
    return body


async def _images(request: Request, *, edit: bool) -> Response:
    state = state_of(request)
    config = state.knobs.config
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        body: Any = await _form_body(request)
    else:
        body = await json_body(request)
    model = body.get("model") if isinstance(body, dict) else None
    model = str(model) if model is not None else None
    entry = state.record(request, "images", model, body)
    if not key_accepted(request, "images", config.require_key):
        entry["outcome"] = "unauthorized"
        return unauthorized("images")
    if not isinstance(body, dict) or not isinstance(body.get("prompt"), str) or not body["prompt"]:
        entry["outcome"] = "invalid"
        return error_response("images", 400, "STAND-IN: `prompt` is required")
    if edit and not body.get("image"):
        entry["outcome"] = "invalid"
        return error_response("images", 400, "STAND-IN: `image` is required for an edit")
    failure = state.knobs.take_failure("images", model)
    if failure is not None:
        entry["outcome"] = failure.describe()
        if failure.kind == "status":
            return injected_error("images", failure)
    await asyncio.sleep(config.image_job_ms / 1000)
    prompt = str(body["prompt"])
    width, height = openai_image_size(body.get("size"), config.image_size)
    count = image_count(body.get("n"), limit=10)
    default_format = "b64_json" if (model or "").startswith("gpt-image") else "url"
    response_format = body.get("response_format") or default_format
    seed = prompt_seed(prompt)
    note = f"images {model or 'default'}" + (" - edit" if edit else "")
    created = int(time.time())
    data = []
    for n in range(count):
        spec = ImageSpec(prompt, width, height, seed + n, config.image_pad_bytes, note)
        if response_format == "url":
            name = state.files.add(f"img-{uuid.uuid4().hex}.png", spec)
            item = {"url": f"{state.base_url(request)}/files/{name}"}
        else:
            item = {"b64_json": base64.b64encode(await render(spec)).decode()}
        data.append({**item, "revised_prompt": prompt})
    return json_answer({"created": created, "data": data}, failure=failure)
