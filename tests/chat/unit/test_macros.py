"""Card macros."""

from __future__ import annotations

from roleplay_chat.domain.macros import MacroContext, render


def ctx(*, seed: str = "turn-1", original: str = "") -> MacroContext:
    return MacroContext(char="Seraphina", user="Ann", seed=seed, original=original)


def test_names_in_every_spelling() -> None:
    text = "{{char}} {{Char}} {{CHAR}} { {char}} <BOT> <bot> {{user}} {{User}} <USER>"
    assert (
        render(text, ctx())
        == "Seraphina Seraphina Seraphina { {char}} Seraphina Seraphina Ann Ann Ann"
    )


def test_original_comment_and_unknown() -> None:
    assert render("{{original}} and more{{// a note }}", ctx(original="base")) == "base and more"
    assert render("{{character_name}} {{ user }}", ctx()) == "{{character_name}} Ann"


def test_random_and_pick_are_fixed_by_the_turn() -> None:
    text = "{{random:a,b,c,d,e,f,g,h}} {{pick::x::y::z::w::v::u}} {{pick::x::y::z::w::v::u}}"
    first = render(text, ctx())
    assert first == render(text, ctx())
    _, pick_1, pick_2 = first.split()
    assert pick_1 == pick_2
    seen = {render(text, ctx(seed=f"t{i}")) for i in range(20)}
    assert len(seen) > 1
    assert render("{{random:one}}", ctx()) == "one"
    assert render("{{pick:{{user}},{{user}}}}", ctx()) == "Ann"


def test_rolls() -> None:
    for seed in range(30):
        assert 1 <= int(render("{{roll:6}}", ctx(seed=str(seed)))) <= 6
        assert 1 <= int(render("{{roll:d20}}", ctx(seed=str(seed)))) <= 20
        assert 5 <= int(render("{{roll:2d6+3}}", ctx(seed=str(seed)))) <= 15
    assert render("{{roll:zero}}", ctx()) == "{{roll:zero}}"
