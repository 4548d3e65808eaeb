"""Conversation memory: what the model must not forget once old messages leave its context.

When enough messages have fallen out of the context window, they are summarised (together
with the summary so far) into a short story summary and a list of key facts, which the system
prompt then carries. The model's answer is parsed leniently: a JSON object with `summary` and
`facts`, or failing that, plain text taken as the summary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from roleplay_chat.domain.prompt import HistoryMessage, Memory

MAX_FACTS = 12
MAX_SUMMARY_CHARS = 2000

INSTRUCTION = (
    "You keep the memory of a long roleplay between {character} and {user}. Update the story "
    "summary with the new messages below. Answer with JSON only: "
    '{{"summary": "<at most 150 words, past tense>", "facts": ["<lasting fact>", ...]}}. '
    "Facts are things that stay true (names, relationships, promises, places, possessions); "
    f"at most {MAX_FACTS}."
)


@dataclass(frozen=True)
class MemoryPlan:
    """Which messages to fold into memory now (None: not yet)."""

    messages: list[HistoryMessage]
    through_position: int


def plan(
    positions_and_messages: Sequence[tuple[int, HistoryMessage]],
    *,
    through_position: int,
    keep_recent: int,
    batch: int,
) -> MemoryPlan | None:
    """Fold messages older than the newest `keep_recent` once `batch` of them are unfolded."""
    older = [
        (pos, m)
        for pos, m in positions_and_messages[: max(len(positions_and_messages) - keep_recent, 0)]
        if pos > through_position
    ]
    if len(older) < batch:
        return None
    return MemoryPlan([m for _, m in older], older[-1][0])


def request(
    memory: Memory, messages: Sequence[HistoryMessage], *, character: str, user: str
) -> list[dict[str, str]]:
    lines = [f"{character if m.sender == 'assistant' else user}: {m.content}" for m in messages]
    known = memory.summary or "(nothing yet)"
    facts = "\n".join(f"- {f}" for f in memory.facts) or "(none)"
    return [
        {"role": "system", "content": INSTRUCTION.format(character=character, user=user)},
        {
            "role": "user",
            "content": f"Summary so far:\n{known}\n\nKnown facts:\n{facts}\n\n"
            "New messages:\n" + "\n".join(lines),
        },
    ]


def parse(answer: str, previous: Memory) -> Memory:
    match = re.search(r"\{.*\}", answer, re.S)
    if match:
        try:
            data = json.loads(match.group(0))
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("summary"), str):
            facts = [str(f).strip() for f in data.get("facts") or [] if str(f).strip()]
            return Memory(
                summary=data["summary"].strip()[:MAX_SUMMARY_CHARS],
                facts=tuple(dict.fromkeys(facts))[:MAX_FACTS] or tuple(previous.facts),
            )
    text = answer.strip()
    if not text:
        return previous
    return Memory(summary=text[:MAX_SUMMARY_CHARS], facts=tuple(previous.facts))
