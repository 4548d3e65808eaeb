"""The stand-in's OpenAI-compatible images: generations and edits, base64 or URL."""

from __future__ import annotations

import base64
import io

import httpx
from PIL import Image

from tests.standin.control import configure, recorded


async def test_generations_answer_base64_pngs_of_the_asked_size(
    standin: httpx.AsyncClient,
) -> None:
    await configure(standin, image_job_ms=0)
    response = await standin.post(
        "/v1/images/generations",
        json={
            "model": "standin-dalle",
            "prompt": "a castle",
            "size": "256x192",
            "n": 2,
            "response_format": "b64_json",
        },
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert len(data) == 2 and data[0]["revised_prompt"] == "a castle"
    image = Image.open(io.BytesIO(base64.b64decode(data[0]["b64_json"])))
    assert image.format == "PNG" and image.size == (256, 192)


async def test_url_answers_point_at_files(standin: httpx.AsyncClient) -> None:
    await configure(standin, image_job_ms=0)
    data = (
        await standin.post(
            "/v1/images/generations", json={"prompt": "a castle", "response_format": "url"}
        )
    ).json()["data"]
    png = await standin.get(data[0]["url"])
    assert png.status_code == 200 and Image.open(io.BytesIO(png.content)).size == (512, 512)


async def test_edits_take_multipart_files_or_a_json_url(standin: httpx.AsyncClient) -> None:
    await configure(standin, image_job_ms=0)
    multipart = await standin.post(
        "/v1/images/edits",
        data={"model": "gpt-image-1", "prompt": "add a moon"},
        files={"image": ("ref.png", b"\x89PNG fake", "image/png")},
    )
    assert multipart.status_code == 200 and "b64_json" in multipart.json()["data"][0]
    sent = (await recorded(standin, family="images"))[-1]
    assert sent["body"]["image"] == [
        {"filename": "ref.png", "content_type": "image/png", "bytes": 9}
    ]
    by_url = await standin.post(
        "/v1/images/edits",
        json={
            "prompt": "add a moon",
            "image": "http://x.test/a.png",
            "response_format": "b64_json",
        },
    )
    assert by_url.status_code == 200
    no_image = await standin.post("/v1/images/edits", json={"prompt": "add a moon"})
    assert no_image.status_code == 400


async def test_a_failure_for_one_model_spares_another(standin: httpx.AsyncClient) -> None:
    await configure(
        standin,
        image_job_ms=0,
        failures=[{"family": "images", "model": "bad", "status": 500, "count": -1}],
    )
    bad = await standin.post("/v1/images/generations", json={"model": "bad", "prompt": "x"})
    assert bad.status_code == 500 and bad.json()["error"]["type"] == "server_error"
    good = await standin.post("/v1/images/generations", json={"model": "good", "prompt": "x"})
    assert good.status_code == 200
