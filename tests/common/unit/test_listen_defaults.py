"""Every service listens on loopback unless told otherwise: the internal APIs are not on the
network by accident."""

from __future__ import annotations

import pytest

from roleplay_chat.settings import ChatSettings
from roleplay_common.settings import ServiceSettings
from roleplay_gateway.settings import GatewaySettings
from roleplay_library.settings import LibrarySettings
from roleplay_scenes.settings import ScenesSettings
from roleplay_usage.settings import UsageSettings

SETTINGS: list[type[ServiceSettings]] = [
    GatewaySettings,
    ChatSettings,
    ScenesSettings,
    LibrarySettings,
    UsageSettings,
]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.__name__)
def test_the_default_host_is_loopback(
    settings: type[ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = str(settings.model_config.get("env_prefix"))
    monkeypatch.delenv(f"{prefix}HOST", raising=False)
    assert settings().host == "127.0.0.1"
