"""MinIO built from its Go module with `go install` (pinned), run on loopback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx

from roleplay_local.infra_credentials import credential
from roleplay_local.paths import cache_dir, data_dir, log_dir
from roleplay_local.processes import (
    run_logged,
    running_pid,
    start_detached,
    stop_pid,
    wait_until,
)

MODULE = "github.com/minio/minio"
VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
ACCESS_KEY = "roleplay"


def secret_key() -> str:
    """The root password, generated for a new data folder (see `infra_credentials`)."""
    return credential("minio_secret_key", data_exists=(home() / "data").exists())


def port() -> int:
    return int(os.environ.get("ROLEPLAY_LOCAL_MINIO_PORT", "19000"))


def binary() -> Path:
    return cache_dir() / "minio" / VERSION / "minio"


def home() -> Path:
    path = data_dir() / "minio"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pid_file() -> Path:
    return home() / "minio.pid"


def pid() -> int | None:
    return running_pid(pid_file())


def log_file() -> Path:
    return log_dir() / "minio.log"


def installed() -> bool:
    return binary().exists()


def install() -> None:
    if installed():
        return
    if shutil.which("go") is None:
        raise RuntimeError("go is required to build MinIO locally")
    target = binary().parent
    target.mkdir(parents=True, exist_ok=True)
    build_log = target / "build.log"
    print(
        f"building MinIO {VERSION} with go install (minutes, once; log: {build_log})…", flush=True
    )
    run_logged(
        ["go", "install", f"{MODULE}@{VERSION}"],
        log_file=build_log,
        what="building MinIO with go install",
        env={"GOBIN": str(target), "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"},
    )


def start() -> None:
    if running_pid(pid_file()) is not None:
        return
    install()
    p = port()
    start_detached(
        [
            str(binary()),
            "server",
            str(home() / "data"),
            "--address",
            f"127.0.0.1:{p}",
            "--console-address",
            f"127.0.0.1:{p + 1}",
            "--quiet",
        ],
        pid_file=pid_file(),
        log_file=log_file(),
        env={
            "MINIO_ROOT_USER": ACCESS_KEY,
            "MINIO_ROOT_PASSWORD": secret_key(),
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
            "MINIO_CI_CD": "1",
        },
    )


def ready() -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port()}/minio/health/ready", timeout=1.0).is_success
    except httpx.HTTPError:
        return False


def wait_ready(timeout: float = 60.0) -> None:
    wait_until(
        ready,
        timeout=timeout,
        what="MinIO",
        log_file=log_file(),
        alive=lambda: running_pid(pid_file()) is not None,
    )


def stop() -> bool:
    return stop_pid(pid_file())
