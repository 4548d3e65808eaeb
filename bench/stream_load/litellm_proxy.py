"""A LiteLLM proxy in front of the stand-in: the peer people pick for this job.

LiteLLM is a benchmark-only dependency with a large tree of its own, so it lives in its own
virtual environment under the user's cache, pinned, made on first use with `uv`, and never
touches the project's locked environment.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

VERSION = "1.106.12"
VENV = Path.home() / ".cache" / "roleplay" / f"bench-litellm-{VERSION}"


def ensure_installed() -> Path:
    """The proxy's executable, installing the pinned LiteLLM once."""
    executable = VENV / "bin" / "litellm"
    if executable.exists():
        return executable
    print(f"installing LiteLLM {VERSION} for the benchmark into {VENV} (once)…", flush=True)
    uv = _uv()
    subprocess.run([*uv, "venv", "-q", "-p", "3.11", str(VENV)], check=True)
    subprocess.run(
        [
            *uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(VENV / "bin" / "python"),
            f"litellm[proxy]=={VERSION}",
        ],
        check=True,
    )
    return executable


def _uv() -> list[str]:
    """uv on PATH, else the one the Makefile installs into the base interpreter (the
    project's own virtual environment has no uv)."""
    if found := shutil.which("uv"):
        return [found]
    return [str(Path(sys.base_prefix) / "bin" / "python3"), "-m", "uv"]


@contextlib.contextmanager
def running_proxy(standin: str, model: str, port: int) -> Iterator[tuple[str, int, str]]:
    """Start the proxy routing `model` to the stand-in; yields its URL, pid and a master key
    made for this run."""
    executable = ensure_installed()
    config = (
        "model_list:\n"
        f"  - model_name: {model}\n"
        "    litellm_params:\n"
        f"      model: openai/{model}\n"
        f"      api_base: {standin}/v1\n"
        "      api_key: standin-not-a-real-key\n"
        "litellm_settings:\n"
        "  drop_params: true\n"
        "  telemetry: false\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "litellm.yaml"
        path.write_text(config)
        log = (Path(folder) / "litellm.log").open("wb")
        key = f"sk-{secrets.token_hex(24)}"
        env = {
            **os.environ,
            "LITELLM_LOG": "ERROR",
            "LITELLM_TELEMETRY": "False",
            "LITELLM_MASTER_KEY": key,
        }
        process = subprocess.Popen(
            [
                str(executable),
                "--config",
                str(path),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--num_workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, process, Path(folder) / "litellm.log")
            yield url, process.pid, key
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"LiteLLM exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health/liveliness", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise TimeoutError("LiteLLM did not start within 120 s")
