"""The stand-in labels itself, is driven at runtime through `/_standin/*`, and starts from
its command line with knobs from flags and `STANDIN_*` variables."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from tests.standin.control import configure, recorded
from tests.support.servers import free_port


async def test_it_says_it_is_a_stand_in_everywhere(standin: httpx.AsyncClient) -> None:
    page = await standin.get("/")
    assert page.status_code == 200 and "STAND-IN" in page.text
    assert "not a real provider" in page.text
    health = await standin.get("/healthz")
    assert health.json()["status"] == "ok"
    for response in (page, health, await standin.get("/files/none.png")):
        assert response.headers["x-standin"] == "true"


async def test_config_changes_only_what_is_given_and_reset_restores_it(
    standin: httpx.AsyncClient,
) -> None:
    before = (await standin.get("/_standin/config")).json()
    after = await configure(standin, output_tokens=7)
    assert after["output_tokens"] == 7
    assert {k: v for k, v in after.items() if k != "output_tokens"} == {
        k: v for k, v in before.items() if k != "output_tokens"
    }
    typo = await standin.post("/_standin/config", json={"output_tokenz": 7})
    assert typo.status_code == 422
    bad_failure = await standin.post("/_standin/failures", json={"kind": "explode"})
    assert bad_failure.status_code == 422
    await standin.post(
        "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]}
    )
    assert await recorded(standin)
    reset = (await standin.post("/_standin/reset")).json()
    assert reset["config"] == before
    assert await recorded(standin) == []


async def test_images_can_be_padded_to_a_size_and_still_decode(
    standin: httpx.AsyncClient,
) -> None:
    await configure(standin, image_job_ms=0, image_pad_bytes=300_000)
    data = (
        await standin.post(
            "/v1/images/generations", json={"prompt": "big", "response_format": "url"}
        )
    ).json()["data"]
    png = await standin.get(data[0]["url"])
    assert len(png.content) == 300_000
    image = Image.open(io.BytesIO(png.content))
    image.load()
    assert image.size == (512, 512)


@pytest.fixture(scope="module")
def cli_standin() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "STANDIN_FIRST_TOKEN_MS": "0", "STANDIN_OUTPUT_TOKENS": "50"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "roleplay_standin",
            "--port",
            str(port),
            "--require-key",
            "k-1",
            "--output-tokens",
            "6",
            "--tokens-per-second",
            "0",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).is_success:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"the stand-in did not start:\n{output}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_the_command_line_takes_flags_over_environment(cli_standin: str) -> None:
    async with httpx.AsyncClient(base_url=cli_standin) as client:
        config = (await client.get("/_standin/config")).json()
        assert config["output_tokens"] == 6  # the flag beats STANDIN_OUTPUT_TOKENS
        assert config["first_token_ms"] == 0  # from STANDIN_FIRST_TOKEN_MS
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        assert (await client.post("/v1/chat/completions", json=body)).status_code == 401
        answer = await client.post(
            "/v1/chat/completions", json=body, headers={"Authorization": "Bearer k-1"}
        )
        assert answer.json()["usage"]["completion_tokens"] == 6
