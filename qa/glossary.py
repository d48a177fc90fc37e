"""Abbreviations of US diplomatic cables, spelt out for reading a sentence against a question.

Cables write "PolOff urged … MFA Deputy Director Wang" where a user asks what "the political
officer" told "the Foreign Ministry". Neither the embedding model nor term matching knows the
abbreviation, so a sentence from another document that happens to share the question's plain
words outranks the one that answers it (gold questions q023, q030: the quoted runner-up came from
the wrong document). Only the scoring sees the expansions; quotes stay verbatim.
"""

from __future__ import annotations

import re

# Mixed-case forms match in any case ("POLOFF", "Poloff"); all-capital ones only as capitals, so
# that ordinary words ("mod", "fm") are left alone.
EXPANSIONS: dict[str, str] = {
    "PolOff": "political officer", "PolOffs": "political officers",
    "EconOff": "economic officer", "EconOffs": "economic officers",
    "EmbOff": "embassy officer", "EmbOffs": "embassy officers",
    "PolCouns": "political counselor", "EconCouns": "economic counselor",
    "PolMilOff": "political-military officer", "FonMin": "foreign minister",
    "MinDef": "defense minister", "SecState": "Secretary of State", "ConGen": "consul general",
    "Septel": "separate telegram", "Reftel": "reference telegram",
    "A/S": "Assistant Secretary", "U/S": "Under Secretary",
    "DCM": "deputy chief of mission", "MFA": "Ministry of Foreign Affairs",
    "FM": "foreign minister", "DFM": "deputy foreign minister", "VFM": "vice foreign minister",
    "MOD": "Ministry of Defense", "USG": "US government", "GOI": "government",
    "GOC": "government", "PRC": "People's Republic of China", "DPRK": "North Korea",
    "ROK": "South Korea", "UNSC": "UN Security Council", "UNSCR": "UN Security Council resolution",
    "WMD": "weapons of mass destruction", "MANPADS": "man-portable air defense systems",
    "IAEA": "International Atomic Energy Agency",
}
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
