"""Character Cards V1/V2/V3 (the community's card formats), in and out.

`reading` gets the card's JSON out of a file (JSON, PNG/APNG chunks via `png_chunks`, CHARX
via `charx`); `normalise` maps it to our fields, leniently, with warnings; `export` writes
it back as V3, a V2 backfill, PNG or CHARX. Fields of ours with no place in the spec travel
in `data.extensions.roleplay`.
"""

from roleplay_gateway.characters.cards.errors import MalformedCardError
from roleplay_gateway.characters.cards.export import card_charx, card_png, to_card
from roleplay_gateway.characters.cards.normalise import CardFields, to_fields
from roleplay_gateway.characters.cards.reading import RawCard, read_card

__all__ = [
    "CardFields",
    "MalformedCardError",
    "RawCard",
    "card_charx",
    "card_png",
    "read_card",
    "to_card",
    "to_fields",
]
