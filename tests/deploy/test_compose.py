"""docker-compose.yml cannot run here (no Docker engine), so check it against the code."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from roleplay_common.settings import (
    DatabaseSettings,
    KafkaSettings,
    ServiceAuthSettings,
    StorageSettings,
    TracingSettings,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
OURS = {
    "gateway": "roleplay_gateway.settings:GatewaySettings",
    "chat": "roleplay_chat.settings:ChatSettings",
    "scenes": "roleplay_scenes.settings:ScenesSettings",
    "library": "roleplay_library.settings:LibrarySettings",
    "usage": "roleplay_usage.settings:UsageSettings",
}
SHARED: list[type[BaseSettings]] = [
    KafkaSettings,
    DatabaseSettings,
    StorageSettings,
    ServiceAuthSettings,
    TracingSettings,
]
READ_BY_LIBRARIES = {"OTEL_EXPORTER_OTLP_ENDPOINT"}
"""Variables the OpenTelemetry exporter reads itself."""


def _settings_class(path: str) -> type[BaseSettings]:
    module, name = path.split(":")
    cls: type[BaseSettings] = getattr(importlib.import_module(module), name)
    return cls


def _env_names(cls: type[BaseSettings]) -> set[str]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    return {f"{prefix}{field}".upper() for field in cls.model_fields}


def test_every_service_of_the_system_is_in_compose() -> None:
    assert set(OURS) | {"kafka", "postgres", "minio", "standin"} <= set(SERVICES)


@pytest.mark.parametrize("name", [*OURS, "standin"])
def test_the_command_names_a_module_that_exists(name: str) -> None:
    command = SERVICES[name]["command"]
    assert command[:2] == ["python", "-m"]
    importlib.import_module(f"{command[2]}.__main__")


@pytest.mark.parametrize("name", list(OURS))
def test_every_environment_variable_is_a_setting(name: str) -> None:
    known = _settings_class(OURS[name])
    names = _env_names(known).union(*(_env_names(c) for c in SHARED), READ_BY_LIBRARIES)
    env = SERVICES[name]["environment"]
    unknown = sorted(set(env) - names)
    assert not unknown, f"{name}: compose sets variables no setting reads: {unknown}"


@pytest.mark.parametrize("name", list(OURS))
def test_the_published_port_is_the_port_the_service_listens_on(name: str) -> None:
    env = SERVICES[name]["environment"]
    prefix = str(_settings_class(OURS[name]).model_config["env_prefix"])
    port = int(env[f"{prefix}PORT"])
    for mapping in SERVICES[name].get("ports", []):
        assert int(str(mapping).split(":")[-1]) == port


def test_dependencies_name_services_that_exist() -> None:
    for name, spec in SERVICES.items():
        depends = spec.get("depends_on") or {}
        assert set(depends) <= set(SERVICES), name


def test_the_gateway_reaches_each_service_on_the_port_it_listens_on() -> None:
    env = SERVICES["gateway"]["environment"]
    for name in ("chat", "scenes", "library", "usage"):
        url = env[f"GATEWAY_{name.upper()}_URL"]
        port = SERVICES[name]["environment"][f"{name.upper()}_PORT"]
        assert url == f"http://{name}:{port}"


@pytest.mark.parametrize("name", list(OURS))
def test_every_service_requires_the_service_token_from_env_file(name: str) -> None:
    token = SERVICES[name]["environment"]["ROLEPLAY_SERVICE_TOKEN"]
    assert token.startswith("${ROLEPLAY_SERVICE_TOKEN:?"), token


def test_the_internal_services_publish_no_port() -> None:
    for name in set(OURS) - {"gateway"}:
        assert not SERVICES[name].get("ports"), name


def test_the_dockerfile_copies_paths_that_exist() -> None:
    dockerfile = ROOT / "deploy" / "docker" / "Dockerfile"
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
