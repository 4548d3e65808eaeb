"""Request and response shapes of lorebooks (contract: `api.md`, Lorebooks).

`LorebookEntryData` is also how an entry is stored: the contract's fields, plus what a card
carries that the contract does not name (`name`, `selective`, the card's own `card_id`), so
an export gives back what was imported.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from roleplay_common.changes import Changes
from roleplay_common.text import SafeJsonObject, SafeText

Visibility = Literal["private", "public"]
SelectiveLogic = Literal["and_any", "and_all", "not_any", "not_all"]
Position = Literal["before_char", "after_char", "at_depth"]
Role = Literal["system", "user", "assistant"]

MAX_ENTRIES = 2000
MAX_CONTENT = 100_000
MAX_ID = 200
MAX_SCAN_DEPTH = 1000
MAX_TOKEN_BUDGET = 1_000_000
KeyText = Annotated[SafeText, Field(max_length=500)]


class LorebookEntryData(BaseModel):
    id: SafeText = Field(default="", max_length=MAX_ID, description="Given when left empty.")
    keys: list[KeyText] = Field(default_factory=list, max_length=100)
    secondary_keys: list[KeyText] = Field(default_factory=list, max_length=100)
    selective_logic: SelectiveLogic = "and_any"
    selective: bool | None = Field(
        default=None, description="Secondary keys apply (default: when there are any)."
    )
    content: SafeText = Field(default="", max_length=MAX_CONTENT)
    enabled: bool = True
    constant: bool = False
    insertion_order: int = Field(default=100, ge=-(2**31), le=2**31 - 1)
    priority: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)
    position: Position = "before_char"
    depth: int | None = Field(default=None, ge=0, le=10_000)
    role: Role | None = None
    case_sensitive: bool = False
    match_whole_words: bool = False
    use_regex: bool = False
    probability: int | None = Field(default=None, ge=0, le=100)
    comment: SafeText = Field(default="", max_length=20_000)
    name: SafeText = Field(default="", max_length=500)
    extensions: SafeJsonObject = Field(default_factory=dict)
    card_id: int | str | None = Field(
        default=None, description="The entry's `id` as the imported card wrote it."
    )


class LorebookCreate(BaseModel):
    name: SafeText = Field(min_length=1, max_length=200)
    description: SafeText = Field(default="", max_length=20_000)
    scan_depth: int | None = Field(default=None, ge=0, le=MAX_SCAN_DEPTH)
    token_budget: int | None = Field(default=None, ge=0, le=MAX_TOKEN_BUDGET)
    recursive_scanning: bool = False
    visibility: Visibility = "private"
    extensions: SafeJsonObject = Field(default_factory=dict)
    entries: list[LorebookEntryData] = Field(default_factory=list, max_length=MAX_ENTRIES)


class LorebookUpdate(Changes):
    nullable = frozenset({"scan_depth", "token_budget"})

    name: SafeText | None = Field(default=None, min_length=1, max_length=200)
    description: SafeText | None = Field(default=None, max_length=20_000)
    scan_depth: int | None = Field(default=None, ge=0, le=MAX_SCAN_DEPTH)
    token_budget: int | None = Field(default=None, ge=0, le=MAX_TOKEN_BUDGET)
    recursive_scanning: bool | None = None
    visibility: Visibility | None = None
    extensions: SafeJsonObject | None = None
    entries: list[LorebookEntryData] | None = Field(default=None, max_length=MAX_ENTRIES)


class LorebookPublic(BaseModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    description: str
    scan_depth: int | None
    token_budget: int | None
    recursive_scanning: bool
    visibility: Visibility
    extensions: dict[str, Any]
    entries: list[LorebookEntryData]
    created_at: datetime
    updated_at: datetime


class LorebookImported(LorebookPublic):
    warnings: list[str] = Field(description="What was mended or cut to import the file.")
