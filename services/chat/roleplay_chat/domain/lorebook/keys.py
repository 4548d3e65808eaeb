"""Key matchers, compiled once per book: plain keys (case, whole words) and guarded regexes.

Plain keys are a substring test on the scan text (lower-cased once for case-insensitive keys);
whole words are checked with a word-boundary pattern only when the substring is present. Regex
keys (`use_regex`, optionally written `/pattern/flags`) are refused when they look catastrophic
(nested quantifiers, back-references, too long) and run with a time limit, a timeout being no
match.
"""

from __future__ import annotations

import re

import regex

from roleplay_chat.domain.lorebook.literal_index import LiteralIndex

REGEX_TIMEOUT_SECONDS = 0.002
MAX_PATTERN_LENGTH = 300
_SLASHED = re.compile(r"^/(.+)/([a-z]*)$", re.S)
_NESTED_QUANTIFIER = re.compile(r"[+*}]\)[+*{]|[+*]\)\{|\\[1-9]|\(\?[=!<].*[+*]")


class ScanText:
    """The text scanned for one scan depth, as written and lower-cased, with the keys of each
    book's literal index found in it (computed on first use)."""

    __slots__ = ("_present", "lower", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lower = text.lower()
        self._present: dict[int, frozenset[str]] = {}

    def present(self, index: LiteralIndex) -> frozenset[str]:
        found = self._present.get(id(index))
        if found is None:
            found = self._present[id(index)] = index.present(
                self.lower if index.lower else self.text
            )
        return found


class KeyMatcher:
    """One key of one entry."""

    __slots__ = ("_needle", "_pattern", "case_sensitive", "index", "key")

    def __init__(
        self, key: str, *, case_sensitive: bool, whole_words: bool, use_regex: bool
    ) -> None:
        self.key = key
        self.case_sensitive = case_sensitive
        self._needle: str | None = None
        self.index: LiteralIndex | None = None
        self._pattern: regex.Pattern[str] | None = None
        if use_regex:
            self._pattern = compile_guarded(key, case_sensitive=case_sensitive)
            return
        self._needle = key if case_sensitive else key.lower()
        if whole_words:
            flags = 0 if case_sensitive else regex.IGNORECASE
            self._pattern = regex.compile(rf"(?<!\w){regex.escape(key)}(?!\w)", flags)

    @property
    def needle(self) -> str | None:
        """The literal the key looks for (None for a regex key)."""
        return self._needle

    def matches(self, scan: ScanText) -> bool:
        if self._needle is not None:
            if self.index is not None:
                if self._needle not in scan.present(self.index):
                    return False
            elif not self._needle or self._needle not in (
                scan.text if self.case_sensitive else scan.lower
            ):
                return False
            if self._pattern is None:
                return True
        if self._pattern is None:
            return False
        try:
            return self._pattern.search(scan.text, timeout=REGEX_TIMEOUT_SECONDS) is not None
        except TimeoutError:
            return False


def compile_guarded(key: str, *, case_sensitive: bool) -> regex.Pattern[str] | None:
    """The key's pattern, or None when it is unsafe or invalid (the key then never matches)."""
    pattern, flags = key, 0 if case_sensitive else regex.IGNORECASE
    if slashed := _SLASHED.match(key):
        # `/pattern/flags`: the flags decide the case, as SillyTavern reads them.
        pattern = slashed.group(1)
        flags = regex.IGNORECASE if "i" in slashed.group(2) else 0
    if not pattern or len(pattern) > MAX_PATTERN_LENGTH or is_catastrophic(pattern):
        return None
    try:
        return regex.compile(pattern, flags)
    except regex.error:
        return None


def is_catastrophic(pattern: str) -> bool:
    """Whether the pattern has the shapes that backtrack exponentially: a quantified group that
    itself ends in a quantifier (`(a+)+`, `(a*)*`, `(x+){2,}`), back-references, lookarounds
    with quantifiers."""
    return _NESTED_QUANTIFIER.search(pattern) is not None
