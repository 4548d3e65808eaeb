"""SillyTavern's chat format (`.jsonl`), written and read as pure functions.

A file is a header line (`user_name`, `character_name`, `create_date`, `chat_metadata`), then
one line per message: `name`, `is_user`, `is_system`, `mes`, `send_date`, `swipes`, `swipe_id`
(and `swipe_info`, `extra`). Reading is tolerant of what SillyTavern versions differ in
(a missing header, `send_date` as a humanized date, ISO text or epoch milliseconds; system
notes, which are skipped) and strict about size: bad input is a `ChatFileError` naming the line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from roleplay_common.text import check_text

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_LINES = 10_001
MAX_MESSAGE_CHARS = 16_000
MAX_SWIPES = 100

_HUMAN_DATE_FORMATS = ("%B %d, %Y %I:%M%p", "%b %d, %Y %I:%M%p", "%Y-%m-%d @%Hh %Mm %Ss %fms")


class ChatFileError(ValueError):
    """The file is not a chat this service can read; the message says where and why."""


@dataclass(frozen=True)
class ChatLine:
    is_user: bool
    content: str
    swipes: list[str] = field(default_factory=list)
    swipe_id: int = 0
    send_date: datetime | None = None


@dataclass(frozen=True)
class ChatFile:
    user_name: str
    character_name: str
    messages: list[ChatLine]


def write(
    *, user_name: str, character_name: str, created_at: datetime, messages: list[dict[str, Any]]
) -> str:
    """The chat as JSONL. `messages` are the chat service's transcript entries."""
    header = {
        "user_name": user_name,
        "character_name": character_name,
        "create_date": created_at.isoformat(),
        "chat_metadata": {},
    }
    lines = [_dumps(header)]
    for m in messages:
        is_user = m["sender"] == "user"
        swipes = list(m.get("alternatives") or []) or [m["content"]]
        lines.append(
            _dumps(
                {
                    "name": user_name if is_user else character_name,
                    "is_user": is_user,
                    "is_system": False,
                    "send_date": m["created_at"],
                    "mes": m["content"],
                    "swipes": swipes,
                    "swipe_id": min(int(m.get("selected_index") or 0), len(swipes) - 1),
                    "extra": {},
                }
            )
        )
    return "\n".join(lines) + "\n"


def read(data: bytes) -> ChatFile:
    """Parse a chat file; `ChatFileError` when it is not one or is too large."""
    if len(data) > MAX_FILE_BYTES:
        raise ChatFileError(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ChatFileError("the file is not UTF-8 text") from exc
    raw_lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not raw_lines:
        raise ChatFileError("the file is empty")
    if len(raw_lines) > MAX_LINES:
        raise ChatFileError(f"the file has more than {MAX_LINES} lines")
    objects = [(n, _object(n, line)) for n, line in raw_lines]
    header: dict[str, Any] = {}
    if "mes" not in objects[0][1]:
        header = objects.pop(0)[1]
    messages = [m for n, obj in objects if (m := _message(n, obj)) is not None]
    if not messages:
        raise ChatFileError("the file holds no messages")
    return ChatFile(
        user_name=_text(header.get("user_name")),
        character_name=_text(header.get("character_name")),
        messages=messages,
    )


def _object(n: int, line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise ChatFileError(f"line {n} is not JSON") from exc
    if not isinstance(value, dict):
        raise ChatFileError(f"line {n} is not a JSON object")
    return value


def _message(n: int, obj: dict[str, Any]) -> ChatLine | None:
    if obj.get("is_system") is True:
        return None  # SillyTavern's own notes, not part of the story
    content = obj.get("mes")
    if not isinstance(content, str):
        raise ChatFileError(f"line {n} has no `mes` text")
    if not isinstance(obj.get("is_user"), bool):
        raise ChatFileError(f"line {n} has no `is_user` true/false")
    if not content.strip():
        raise ChatFileError(f"line {n} has an empty message")
    _check_length(n, content)
    swipes_raw = obj.get("swipes")
    swipes: list[str] = []
    if isinstance(swipes_raw, list):
        if len(swipes_raw) > MAX_SWIPES:
            raise ChatFileError(f"line {n} has more than {MAX_SWIPES} swipes")
        for swipe in swipes_raw:
            if isinstance(swipe, str) and swipe.strip():
                _check_length(n, swipe)
                swipes.append(swipe)
    swipe_id = obj.get("swipe_id")
    index = swipe_id if isinstance(swipe_id, int) and 0 <= swipe_id < len(swipes) else 0
    if swipes and swipes[index] != content:
        # `mes` is what stands: keep it as the selected swipe.
        if content in swipes:
            index = swipes.index(content)
        else:
            swipes.append(content)
            index = len(swipes) - 1
    return ChatLine(
        is_user=obj["is_user"],
        content=content,
        swipes=swipes,
        swipe_id=index,
        send_date=_date(obj.get("send_date")),
    )


def _check_length(n: int, text: str) -> None:
    try:
        check_text(text)
    except ValueError as exc:
        raise ChatFileError(f"line {n}: a message {exc}") from exc
    if len(text) > MAX_MESSAGE_CHARS:
        raise ChatFileError(f"line {n} has a message longer than {MAX_MESSAGE_CHARS} characters")


def _date(value: Any) -> datetime | None:
    """ISO text, epoch milliseconds or SillyTavern's humanized date; None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
        for pattern in _HUMAN_DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
