"""The consistency rules without I/O: which method sends what, and how references are sent."""

from __future__ import annotations

import uuid

from roleplay_scenes.domain.consistency import (
    character_seed,
    consistency_for,
    image_arguments,
    pick_references,
)


def test_each_method_decides_seed_and_character_references() -> None:
    character = uuid.uuid4()
    seed = character_seed(character)
    assert 0 <= seed < 2**31 and seed == character_seed(character) != character_seed(uuid.uuid4())
    by_method = {
        m: consistency_for(m, character) for m in ("seed_locked", "i2i_reference", "hybrid")
    }
    assert (by_method["seed_locked"].seed, by_method["seed_locked"].character_references) == (
        seed,
        False,
    )
    assert (by_method["i2i_reference"].seed, by_method["i2i_reference"].character_references) == (
        None,
        True,
    )
    assert (by_method["hybrid"].seed, by_method["hybrid"].character_references) == (seed, True)
    for unknown in (None, "", "telepathy"):
        assert consistency_for(unknown, character).method is None
        assert consistency_for(unknown, character).seed is None


def test_references_are_distinct_at_most_three_and_sent_as_the_seed_sent_them() -> None:
    urls = ["http://s/a.png?sig=1", None, "http://s/a.png?sig=2", "http://s/b", "http://s/c", "x/d"]
    assert pick_references(urls) == ["http://s/a.png?sig=1", "http://s/b", "http://s/c"]
    one = image_arguments("p", ["http://s/a"], 0.4, None)
    assert one == {"prompt": "p", "num_images": 1, "image_url": "http://s/a", "strength": 0.4}
    many = image_arguments("p", ["http://s/a", "http://s/b"], 0.4, 7)
    assert many["image_urls"] == ["http://s/a", "http://s/b"] and "strength" not in many
    assert many["seed"] == 7 and "image_url" not in many
    assert image_arguments("p", [], 0.4, None) == {"prompt": "p", "num_images": 1}
