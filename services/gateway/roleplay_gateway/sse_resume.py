"""Where a resumed SSE stream continues: after `Last-Event-ID` (header) or `?after=` (query).

Event ids are sequence numbers (PostgreSQL `bigint` in the feed). Anything but a plain decimal
number in that range is a 400 before the stream starts, never an error in the middle of it.
"""

from __future__ import annotations

import re

from roleplay_common.http import ApiError

MAX_EVENT_ID = 2**63 - 1
_EVENT_ID = re.compile(r"-?[0-9]{1,19}")


def resume_after(last_event_id: str | None, after: int | None, *, floor: int) -> int:
    """The last id the client saw (`Last-Event-ID` wins over `?after=`), never below `floor`;
    an empty `Last-Event-ID` counts as none, as in the SSE spec."""
    text = (last_event_id or "").strip()
    if text:
        if not _EVENT_ID.fullmatch(text) or abs(int(text)) > MAX_EVENT_ID:
            raise ApiError(
                400,
                "invalid_last_event_id",
                f"Last-Event-ID must be a whole number up to {MAX_EVENT_ID}",
            )
        return max(int(text), floor)
    return max(after, floor) if after is not None else floor
