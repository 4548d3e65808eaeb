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


def test_v3_to_sillytavern_and_back_keeps_regex_priority_name_and_book_settings() -> None:
    book = read_lorebook_file(KEEPER, ImportWarnings())
    book.entries.append(
        book.entries[2].model_copy(
            update={"id": "bell", "card_id": None, "keys": ["bells?"], "name": "Bell"}
        )
    )
    exported = world_info(book)
    entries = list(exported["entries"].values())
    # Where SillyTavern reads them: regex keys slashed, a name shown as the title ...
    assert entries[2]["key"] == ["/fog(horn)?/i"] and entries[4]["key"] == ["/bells?/i"]
    assert entries[0]["comment"] == "the lamp" and entries[4]["comment"] == "Bell"
    # ... and the card book itself (book settings, priority, name) in `originalData`.
    original = exported["originalData"]
    assert (original["scan_depth"], original["token_budget"], original["recursive_scanning"]) == (
        6,
        800,
        True,
    )
    assert [e.get("priority") for e in original["entries"]][:2] == [5, 10]
    again = read_lorebook_file(json.loads(json.dumps(exported)), ImportWarnings())
    assert lorebook_v3(again) == lorebook_v3(book)
    assert again.entries[4].comment == "" and again.entries[4].name == "Bell"
    assert world_info(again) == exported


def test_sillytavern_regex_keys_read_as_a_regex_entry() -> None:
    doc = {
        "entries": {
            "0": {"uid": 0, "key": ["/dragons?/i", "C++"], "content": "Wyrms."},
            "1": {"uid": 1, "key": ["dragon"], "content": "Plain."},
        }
    }
    first, second = read_lorebook_file(doc, ImportWarnings()).entries
    assert first.use_regex and first.keys == ["/dragons?/i", "C\\+\\+"]
    assert not second.use_regex and second.keys == ["dragon"]


def test_original_data_of_another_entry_is_not_taken() -> None:
    doc = {
        "entries": {"0": {"uid": 0, "key": ["moon"], "content": "The moon."}},
        "originalData": {
            "scan_depth": 3,
            "entries": [{"id": 0, "keys": ["sun"], "content": "The sun.", "priority": 9}],
        },
    }
    book = read_lorebook_file(doc, ImportWarnings())
    assert book.scan_depth == 3 and "originalData" not in book.extra
    assert book.entries[0].priority is None and book.entries[0].keys == ["moon"]


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


def test_an_over_long_entry_id_is_replaced_with_a_warning() -> None:
    warnings = ImportWarnings()
    doc = {"spec": "lorebook_v3", "data": {"entries": [{"id": "x" * 300, "content": "c"}]}}
    [entry] = read_lorebook_file(doc, warnings).entries
    assert entry.id and len(entry.id) <= 200 and entry.card_id == "x" * 300
    assert any("over 200" in w for w in warnings.as_list())


def test_book_settings_are_kept_within_what_a_lorebook_accepts() -> None:
    doc = {"spec": "lorebook_v3", "data": {"scan_depth": -3, "token_budget": 10**9, "entries": []}}
    book = read_lorebook_file(doc, ImportWarnings())
    assert (book.scan_depth, book.token_budget) == (0, 1_000_000)
