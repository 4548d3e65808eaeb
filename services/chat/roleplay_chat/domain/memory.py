"""Memory: what the model must not forget once old messages leave its context.

When messages have left the prompt (the recent window, or the token budget, whichever is
shorter), they are folded, with the summary so far, into a short story summary and new items
of three tiers: facts of this conversation, what the character learned about the user (kept
for every chat with this character), and what holds about the user everywhere (profile).
The model's answer is parsed leniently: a JSON object, or failing that, plain text taken as the
summary. Items are matched by normalised text, so a forgotten one is never brought back.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from roleplay_chat.domain.prompt import HistoryMessage, Memory

MAX_FACTS = 12
MAX_ITEM_CHARS = 300
MAX_SUMMARY_CHARS = 2000

INSTRUCTION = (
    "You keep the memory of a long roleplay between {character} and {user}. Update the story "
    "summary with the new messages below and pick out what is worth remembering. Answer with "
    'JSON only: {{"summary": "<at most 150 words, past tense>", '
    '"facts": ["<lasting fact of this story>", ...], '
    '"character": ["<what {character} learned about {user}, to remember in every future '
    'chat>", ...], '
    '"profile": ["<what holds about {user} as a person with anyone: name, likes, life>", '
    "...]}}. Facts are things that stay true (names, relationships, promises, places, "
    f"possessions); at most {MAX_FACTS} per list; leave out what is already known."
)


@dataclass(frozen=True)
class MemoryPlan:
    """Which messages to fold into memory now (None: not yet)."""

    messages: list[HistoryMessage]
    through_position: int
    positions: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Extracted:
    """What one memory call produced: the new summary and candidate items per tier."""

    summary: str
    items: dict[str, list[str]]


def normalize(text: str) -> str:
    """The form items are compared in: case, accents, punctuation and spacing ignored."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z0-9]+", folded))


def plan(
    positions_and_messages: Sequence[tuple[int, HistoryMessage]],
    *,
    through_position: int,
    keep_recent: int,
    batch: int,
    window: int | None = None,
) -> MemoryPlan | None:
    """Fold messages older than the newest `keep_recent` once `batch` of them are unfolded.

    `window` is how many messages the last prompt held within its token budget: when it is
    shorter than `keep_recent`, messages already out of the prompt but not yet summarised are
    folded at once, whatever their number, so none falls between the summary and the prompt.
    """
    keep = keep_recent if window is None else min(keep_recent, max(window, 0))
    cut = max(len(positions_and_messages) - keep, 0)
    older = [(pos, m) for pos, m in positions_and_messages[:cut] if pos > through_position]
    if not older:
        return None
    if len(older) < batch and (window is None or window >= keep_recent):
        return None
    return MemoryPlan([m for _, m in older], older[-1][0], [pos for pos, _ in older])


def request(
    memory: Memory,
    messages: Sequence[HistoryMessage],
    *,
    character: str,
    user: str,
    known: Sequence[str] = (),
) -> list[dict[str, str]]:
    lines = [f"{character if m.sender == 'assistant' else user}: {m.content}" for m in messages]
    summary = memory.summary or "(nothing yet)"
    facts = "\n".join(f"- {f}" for f in known) or "(none)"
    return [
        {"role": "system", "content": INSTRUCTION.format(character=character, user=user)},
        {
            "role": "user",
            "content": f"Summary so far:\n{summary}\n\nAlready remembered:\n{facts}\n\n"
            "New messages:\n" + "\n".join(lines),
        },
    ]


def _texts(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    texts = [str(v).strip()[:MAX_ITEM_CHARS] for v in value if str(v).strip()]
    return list(dict.fromkeys(texts))[:MAX_FACTS]


def parse(answer: str, previous_summary: str) -> Extracted:
    match = re.search(r"\{.*\}", answer, re.S)
    if match:
        try:
            data = json.loads(match.group(0))
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("summary"), str):
            return Extracted(
                summary=data["summary"].strip()[:MAX_SUMMARY_CHARS] or previous_summary,
                items={
                    "conversation": _texts(data.get("facts")),
                    "character": _texts(data.get("character")),
                    "profile": _texts(data.get("profile")),
                },
            )
    text = answer.strip()
    return Extracted(summary=text[:MAX_SUMMARY_CHARS] or previous_summary, items={})


def new_items(candidates: Sequence[str], existing: Sequence[str]) -> list[str]:
    """Candidates whose normalised text is not among `existing` (live items and forgotten
    tombstones alike), nor repeated."""
    seen = {normalize(t) for t in existing}
    out = []
    for text in candidates:
        key = normalize(text)
        if key and key not in seen:
            seen.add(key)
            out.append(text)
    return out
