"""PATCH bodies: every field optional, and `null` only where the stored value may be empty.

Without this, `{"name": null}` would pass validation and fail at the database as a 500.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, model_validator


class Changes(BaseModel):
    """Base of PATCH bodies; list in `nullable` the fields a client may clear with `null`."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_null_where_a_value_is_required(cls, data: Any) -> Any:
        if isinstance(data, dict):
            cleared = sorted(
                k
                for k, v in data.items()
                if v is None and k in cls.model_fields and k not in cls.nullable
            )
            if cleared:
                raise ValueError(f"these fields cannot be null: {', '.join(cleared)}")
        return data

    def changes(self) -> dict[str, Any]:
        """Only the fields the client sent."""
        return self.model_dump(exclude_unset=True)
