"""Visual consistency as the seed meant it: the character's `consistency_method` decides
whether a scene sends reference images, a locked seed, or both.

- `i2i_reference`: reference images — the scene it continues (or the template's preview),
  the character's portrait, and for `both_characters` the persona's — at most three, without
  duplicates, in that order.
- `seed_locked`: the character's seed on every image (no character reference image).
- `hybrid`: both.
A character without a method keeps continuity only (the scene it continues, no seed).

One reference goes as `image_url` with a `strength`; two or more as `image_urls` (no
strength), as the seed sent them.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, Literal

Method = Literal["seed_locked", "i2i_reference", "hybrid"]
MAX_REFERENCES = 3
METHODS: dict[str, Method] = {m: m for m in ("seed_locked", "i2i_reference", "hybrid")}


@dataclass(frozen=True)
class Consistency:
    method: Method | None
    seed: int | None
    character_references: bool


def consistency_for(method: str | None, character_id: uuid.UUID) -> Consistency:
    known = METHODS.get(method or "")
    locks_seed = known in ("seed_locked", "hybrid")
    return Consistency(
        method=known,
        seed=character_seed(character_id) if locks_seed else None,
        character_references=known in ("i2i_reference", "hybrid"),
    )


def character_seed(character_id: uuid.UUID) -> int:
    """The character's locked seed: stable for the character, within a 31-bit range."""
    return int.from_bytes(hashlib.sha256(character_id.bytes).digest()[:4], "big") & 0x7FFFFFFF


def pick_references(candidates: list[str | None]) -> list[str]:
    """The first three distinct URLs, in order (same object signed twice counts once)."""
    chosen: list[str] = []
    seen: set[str] = set()
    for url in candidates:
        if not url:
            continue
        identity = url.split("?", 1)[0]
        if identity in seen:
            continue
        seen.add(identity)
        chosen.append(url)
        if len(chosen) == MAX_REFERENCES:
            break
    return chosen


def image_arguments(
    prompt: str, references: list[str], strength: float, seed: int | None
) -> dict[str, Any]:
    """The provider arguments (fal's names; the other adapters translate them)."""
    arguments: dict[str, Any] = {"prompt": prompt, "num_images": 1}
    if len(references) == 1:
        arguments.update(image_url=references[0], strength=strength)
    elif references:
        arguments["image_urls"] = references
    if seed is not None:
        arguments["seed"] = seed
    return arguments
