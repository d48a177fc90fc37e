"""Abbreviations of US diplomatic cables, spelt out for reading a sentence against a question.

Cables write "PolOff urged … MFA Deputy Director Wang" where a user asks what "the political
officer" told "the Foreign Ministry". Neither the embedding model nor term matching knows the
abbreviation, so a sentence from another document that happens to share the question's plain
words outranks the one that answers it (gold questions q023, q030: the quoted runner-up came from
the wrong document). Only the scoring sees the expansions; quotes stay verbatim.
"""

from __future__ import annotations

import re

from .wordlists import pairs

# Mixed-case forms match in any case ("POLOFF", "Poloff"); all-capital ones only as capitals, so
# that ordinary words ("mod", "fm") are left alone.
EXPANSIONS: dict[str, str] = pairs("glossary.tsv")
_BY_LOWER = {k.lower(): k for k in EXPANSIONS}
_WORD = re.compile(
    r"(?<![\w/])(" + "|".join(re.escape(k) for k in sorted(EXPANSIONS, key=len, reverse=True))
    + r")(?![\w/])", re.I)


def _spell_out(match: re.Match[str]) -> str:
    written = match.group(1)
    canonical = _BY_LOWER[written.lower()]
    if canonical.isupper() and written != canonical:
        return written
    return f"{written} ({EXPANSIONS[canonical]})"


def spell_out(text: str) -> str:
    """The text with each cable abbreviation followed by its meaning in brackets."""
    return _WORD.sub(_spell_out, text)
