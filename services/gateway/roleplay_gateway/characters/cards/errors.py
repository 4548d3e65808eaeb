"""The one error a card import raises: the file is not a card we can read (a 422)."""


class MalformedCardError(ValueError):
    pass
