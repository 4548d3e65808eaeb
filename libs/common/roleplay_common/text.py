"""Text a client sends: the string types every request model uses for its text fields.

PostgreSQL's `text` cannot hold NUL, and a lone surrogate (`"\\ud800"` is valid JSON) cannot
be encoded as UTF-8: either would pass a plain `str` and fail later, as a 500 or as a turn
that never ends. `SafeText` refuses both where the request is validated, so the answer is a
`422` naming the field; `SafeJsonObject` does the same for every key and string inside a
free-form JSON object, and bounds its nesting.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator

MAX_JSON_DEPTH = 32


def check_text(value: str) -> str:
    """`value` unchanged, or a ValueError saying what it may not contain."""
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000)")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("must not contain lone surrogates (unpaired \\ud800-\\udfff)") from exc
    return value


def check_json_tree(value: Any, depth: int = 0) -> Any:
    """`value` unchanged when every key and string in it is `SafeText` and it nests at most
    `MAX_JSON_DEPTH` levels."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"must not nest deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(str(key))
            check_json_tree(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json_tree(item, depth + 1)
    return value


SafeText = Annotated[str, AfterValidator(check_text)]
SafeJsonObject = Annotated[dict[str, Any], AfterValidator(check_json_tree)]
