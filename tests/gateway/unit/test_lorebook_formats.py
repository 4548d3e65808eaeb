"""Lorebook files: SillyTavern world info and `lorebook_v3` in and out, decorators stripped
for V2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roleplay_gateway.import_warnings import ImportWarnings
from roleplay_gateway.lorebooks.card_books import (
    MalformedLorebookError,
    lorebook_v3,
    strip_decorators,
)
from roleplay_gateway.lorebooks.files import read_lorebook_file
from roleplay_gateway.lorebooks.world_info import world_info

FIXTURES = Path(__file__).parents[2] / "fixtures" / "cards"
ELDORIA = json.loads((FIXTURES / "eldoria_worldinfo.json").read_text())
KEEPER = json.loads((FIXTURES / "keeper_v3.json").read_text())


def test_sillytavern_world_info_imports_and_exports_as_it_came() -> None:
    warnings = ImportWarnings()
    book = read_lorebook_file(ELDORIA, warnings)
    assert warnings.as_list() == [] and len(book.entries) == len(ELDORIA["entries"])
    first = book.entries[0]
    assert first.keys == ["eldoria", "wood", "forest", "magical forest"]
    assert first.insertion_order == 100 and first.enabled and first.position == "before_char"
    exported = world_info(book)
    for uid, entry in ELDORIA["entries"].items():
        for key, value in entry.items():
            assert exported["entries"][uid][key] == value, (uid, key)
    assert read_lorebook_file(exported, ImportWarnings()) == book


def test_lorebook_v3_round_trips_and_a_card_book_reads_the_same() -> None:
    book = read_lorebook_file(KEEPER, ImportWarnings())  # a whole card: its character_book
    assert read_lorebook_file(KEEPER["data"]["character_book"], ImportWarnings()) == book
    exported = lorebook_v3(book)
    assert exported["spec"] == "lorebook_v3"
    assert read_lorebook_file(exported, ImportWarnings()) == book
    # World info carries the contract's fields too, and reads back the same entries.
    again = read_lorebook_file(world_info(book), ImportWarnings())
    for before, after in zip(book.entries, again.entries, strict=True):
        for field in (
            "keys",
            "secondary_keys",
            "content",
            "position",
            "depth",
            "role",
            "match_whole_words",
            "probability",
            "case_sensitive",
            "constant",
        ):
            assert getattr(after, field) == getattr(before, field), field


def test_an_edited_field_is_written_back_into_sillytavern_extensions() -> None:
    book = read_lorebook_file(KEEPER, ImportWarnings())
    edited = book.entries[0].model_copy(
        update={"match_whole_words": False, "position": "at_depth", "depth": 2, "role": "assistant"}
    )
    book.entries[0] = edited
    ext = lorebook_v3(book)["data"]["entries"][0]["extensions"]
    assert ext["match_whole_words"] is False and (ext["position"], ext["depth"], ext["role"]) == (
        4,
        2,
        2,
    )
    again = read_lorebook_file(lorebook_v3(book), ImportWarnings()).entries[0]
    assert again.model_dump(exclude={"extensions"}) == edited.model_dump(exclude={"extensions"})


def test_decorators_are_stripped() -> None:
    assert strip_decorators("@@depth 2\n@@@role system\nText\nmore") == "Text\nmore"
    assert strip_decorators("no decorators @@ here") == "no decorators @@ here"


@pytest.mark.parametrize("doc", [[], {"entries": 5}, {"spec": "chara_card_v2", "data": {}}, {}])
def test_what_is_no_lorebook_is_refused(doc: object) -> None:
    with pytest.raises(MalformedLorebookError):
        read_lorebook_file(doc, ImportWarnings())
