"""The rules behind the 4xx answers: which text is refused, how a download is named, which
resume positions exist, which variables may hold a provider key, which errors are outages."""

from __future__ import annotations

import errno
from urllib.parse import unquote

import pytest
import sqlalchemy.exc
from aiokafka import errors as kafka_errors
from pydantic import BaseModel, ValidationError

from roleplay_common.content_disposition import attachment
from roleplay_common.http import ApiError
from roleplay_common.outages import outage_of
from roleplay_common.provider_keys import refusal
from roleplay_common.text import MAX_JSON_DEPTH, SafeJsonObject, SafeText
from roleplay_gateway.sse_resume import MAX_EVENT_ID, resume_after


class Body(BaseModel):
    text: SafeText
    rules: SafeJsonObject = {}


@pytest.mark.parametrize("text", ["plain", "Zoë 船長 🚀", "tab\tand\nnewline", ""])
def test_ordinary_text_passes(text: str) -> None:
    assert Body(text=text).text == text


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "x\udfffy", "🚀\udc00"])
def test_nul_and_lone_surrogates_are_refused(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Body(text=text)
    assert caught.value.errors()[0]["loc"] == ("text",)


def test_free_form_objects_are_checked_throughout_and_bounded() -> None:
    assert Body(text="", rules={"a": [{"b": "ok"}]}).rules == {"a": [{"b": "ok"}]}
    for rules in ({"a": [{"b": "\x00"}]}, {"\ud800": 1}):
        with pytest.raises(ValidationError):
            Body(text="", rules=rules)
    deep: dict[str, object] = {}
    cursor = deep
    for _ in range(MAX_JSON_DEPTH + 1):
        cursor["a"] = {}
        cursor = cursor["a"]  # type: ignore[assignment]
    with pytest.raises(ValidationError):
        Body(text="", rules=deep)


@pytest.mark.parametrize("name", ["Мира", "船長", 'a "quoted" name', "../../etc/passwd", "x\ud800"])
def test_any_name_makes_an_ascii_header_with_the_real_name_encoded(name: str) -> None:
    header = attachment(name, "png", fallback="character")
    assert header.isascii()
    plain, encoded = header.split("; filename*=UTF-8''")
    assert plain.startswith('attachment; filename="') and plain.endswith('.png"')
    assert '"' not in plain[len('attachment; filename="') : -1]
    assert "/" not in plain
    if name.isprintable() and "\ud800" not in name:
        assert unquote(encoded) == f"{name}.png"


def test_resume_positions() -> None:
    assert resume_after(None, None, floor=-1) == -1
    assert resume_after("", 5, floor=0) == 5
    assert resume_after(" 7 ", 5, floor=0) == 7
    assert resume_after("-5", None, floor=-1) == -1
    assert resume_after(str(MAX_EVENT_ID), None, floor=0) == MAX_EVENT_ID
    for bad in (str(MAX_EVENT_ID + 1), "1e3", "0x1", "1_0", "\u0661", "+", "12a"):
        with pytest.raises(ApiError) as caught:
            resume_after(bad, None, floor=0)
        assert caught.value.status == 400


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("OPENROUTER_API_KEY", True),
        ("PROVIDER_KEY_FAL", True),
        ("ROLEPLAY_S3_SECRET_KEY", False),
        ("ROLEPLAY_X_API_KEY", False),
        ("GATEWAY_JWT_SECRET", False),
        ("USAGE_API_KEY", False),
        ("PATH", False),
        ("openrouter_api_key", False),
    ],
)
def test_provider_key_variables(name: str, allowed: bool) -> None:
    assert (refusal(name, ["PROVIDER_KEY_*", "*_API_KEY"]) is None) is allowed


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_outages_are_told_from_bugs() -> None:
    disconnect = sqlalchemy.exc.DBAPIError(
        "select 1", None, Exception("gone"), connection_invalidated=True
    )
    assert outage_of(disconnect) == "database"
    assert outage_of(sqlalchemy.exc.TimeoutError("pool")) == "database"
    assert outage_of(kafka_errors.KafkaConnectionError()) == "broker"
    assert outage_of(kafka_errors.KafkaTimeoutError()) == "broker"
    assert outage_of(_raised(ConnectionRefusedError(errno.ECONNREFUSED, "refused"))) == "network"
    wrapped = RuntimeError("wrapper")
    wrapped.__cause__ = ConnectionResetError()
    assert outage_of(wrapped) == "network"
    for bug in (
        ValueError("x"),
        FileNotFoundError("x"),
        sqlalchemy.exc.IntegrityError("insert", None, Exception("dup")),
        kafka_errors.MessageSizeTooLargeError(),
    ):
        assert outage_of(bug) is None
