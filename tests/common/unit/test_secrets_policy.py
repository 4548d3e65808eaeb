"""Services refuse secrets published in the repository, unless told this is a dev machine."""

from __future__ import annotations

import secrets

import pytest
from pydantic import SecretStr

from roleplay_chat.settings import ChatSettings
from roleplay_common.secrets_policy import (
    InsecureSettingsError,
    RuntimeEnvironment,
    refuse_weak_secrets,
    weak_secrets,
)
from roleplay_common.settings import ServiceAuthSettings
from roleplay_gateway.settings import GatewaySettings
from roleplay_library.settings import LibrarySettings
from roleplay_scenes.settings import ScenesSettings
from roleplay_usage.settings import UsageSettings

PRODUCTION = RuntimeEnvironment(env="production")


def test_the_repositorys_defaults_are_refused_by_name() -> None:
    settings = GatewaySettings(
        jwt_secret=SecretStr("dev-only-change-me-this-secret-is-32+chars"),
        webhook_secret=SecretStr("dev-only-webhook-secret"),
        admin_password=SecretStr("admin-password"),
    )
    with pytest.raises(InsecureSettingsError) as refused:
        refuse_weak_secrets("gateway", settings.secrets(), PRODUCTION)
    message = str(refused.value)
    for name in ("GATEWAY_JWT_SECRET", "GATEWAY_WEBHOOK_SECRET", "GATEWAY_ADMIN_PASSWORD"):
        assert name in message
    assert "dev-only" not in message and "admin-password" not in message  # never echoed
    scenes = ScenesSettings(
        webhook_secret=SecretStr("change-me-webhook-secret"),
        service_auth=ServiceAuthSettings(token=SecretStr(secrets.token_urlsafe(32))),
    )
    assert weak_secrets(scenes.secrets()) == ["SCENES_WEBHOOK_SECRET"]


def test_every_service_refuses_the_development_service_token() -> None:
    for settings in (ChatSettings(), LibrarySettings(), UsageSettings()):
        settings.service_auth = ServiceAuthSettings(token=SecretStr("dev-only-service-token"))
        assert weak_secrets(settings.secrets()) == ["ROLEPLAY_SERVICE_TOKEN"]
    rotating = ServiceAuthSettings(
        token=SecretStr(secrets.token_urlsafe(32)),
        token_previous=SecretStr(f"{secrets.token_urlsafe(32)}, short"),
    )
    assert weak_secrets(rotating.secrets()) == ["ROLEPLAY_SERVICE_TOKEN_PREVIOUS (entry 2)"]


def test_short_or_missing_secrets_are_refused_and_real_ones_accepted() -> None:
    assert weak_secrets({"A": None, "B": SecretStr("short"), "C": SecretStr("")}) == ["A", "B", "C"]
    strong = {"A": SecretStr(secrets.token_urlsafe(32))}
    refuse_weak_secrets("gateway", strong, PRODUCTION)


def test_dev_mode_must_be_asked_for_explicitly() -> None:
    weak = {"GATEWAY_JWT_SECRET": SecretStr("change-me")}
    refuse_weak_secrets("gateway", weak, RuntimeEnvironment(env="dev"))
    for env in ("production", "development", "staging", ""):
        with pytest.raises(InsecureSettingsError):
            refuse_weak_secrets("gateway", weak, RuntimeEnvironment(env=env))


def test_a_service_app_is_not_built_with_a_known_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from roleplay_gateway.app import create_app

    monkeypatch.delenv("ROLEPLAY_ENV", raising=False)
    with pytest.raises(InsecureSettingsError):
        create_app(GatewaySettings(jwt_secret=SecretStr("change-me")))
