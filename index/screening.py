"""Screen document text for what talks to the assistant instead of about the world.

Documents are untrusted. Two kinds of text are recognised here, at ingest (to quarantine a
document) and at answer time (to refuse a passage or sentence as evidence):

- an *injection*: an instruction addressed to an AI, a forged system or developer message,
  chat-template tokens, a copy of the prompt's own passage fences;
- *active markup*: script, event handlers, `javascript:` links, remote Markdown images.

A document holding an injection anywhere is quarantined at ingest (`screen_document`): it stays in
the catalog, listed with the reason, but none of its chunks is searchable or counted in the
keyword statistics, so it can change no answer. The false "facts" planted next to an instruction
cannot be told apart from real ones sentence by sentence, and may sit in another chunk than the
instruction, so the whole document is set aside, not just the offending passage. Active markup
alone does not quarantine a document (Markdown with remote images is ordinary); such sentences are
refused as evidence where they are read (qa/evidence.py, qa/verify.py).

Text is compared after NFKC folding, with invisible format characters (zero-width spaces, bidi
controls) removed and the common Cyrillic/Greek look-alike letters mapped to Latin, so obfuscated
payloads read as what they say. The rules are deliberately few and readable; each one is exercised
by a document in tests/data/injection/, and none fires on the sample corpus or the haystacks
(tests/test_qa_injection_gold.py, tests/test_index_screening.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from .models import Chunk

# Bump when the rules change: the next ingest screens every indexed document again.
SCREENING_VERSION = "1"

# Look-alike letters used to dodge keyword filters ("Іgnоre" with Cyrillic І and о).
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "ɡ": "g", "ո": "n", "ս": "u",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J",
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "Α": "A", "Β": "B", "Ε": "E", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
    "Τ": "T", "Χ": "X", "Υ": "Y", "Ζ": "Z",
})

# Who an injection talks to. Not "assistant" alone: "Assistant Secretary" is everywhere in cables.
_ADDRESSEE = (
    r"(?:ai|a\.i\.|artificial intelligence|(?:large )?language models?|llms?|chatbots?|chat ?gpt|gpt-?\w*|"
    r"ai (?:assistants?|models?|systems?|tools?|agents?)|assistants?|bots?|"
    r"question[- ]answering (?:systems?|tools?|models?)|"
    r"summari[sz](?:ers?|ation (?:tools?|systems?|models?))|"
    r"automated (?:systems?|tools?|readers?|summari[sz]ers?|assistants?)|dossier)"
)
_DIRECTIVE = (
    r"(?:must|should|shall|have to|need to|are (?:now )?(?:required|instructed|authori[sz]ed|allowed|"
    r"permitted)|will now|always|never|do not|don't|answer|reply|respond|say|state|print|output|repeat|"
    r"reveal|cite|append|include|decode|follow|ignore|add|format|mark|label|tag|confirm|write)"
)
_INJECTION_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("asks to ignore the instructions", re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}\b(?:(?:previous|prior|above|earlier|"
        r"preceding|all|any|your|these|those|system)\b[^.!?\n]{0,30}\b(?:instructions?|prompts?|directives?|"
        r"guidelines|guardrails)|(?:previous|prior|above|earlier|preceding|your|system)\b[^.!?\n]{0,20}"
        r"\brules)\b")),
    ("asks to ignore the instructions", re.compile(
        r"\bignore[zr]?\b[^.!?\n]{0,30}\binstructions\b|\bignorier\w*\b[^.!?\n]{0,30}\banweisungen\b|"
        r"\bignora\w*\b[^.!?\n]{0,30}\binstrucciones\b|\bignori\b[^.!?\n]{0,30}\bistruzioni\b")),
    ("chat-template or role tokens", re.compile(
        r"<\|\s*(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|"
        r"end_header_id)\s*\|>|\[/?inst\]|<<\s*/?sys\s*>>")),
    ("a forged system or developer message", re.compile(
        r"(?:^|\n)[ \t#>*\[(-]*(?:system|developer|admin|administrator)\s*(?:message|prompt|note|"
        r"override)?\s*[:\]]|\[\s*(?:developer|system|admin)\s+(?:message|note|override|prompt)|"
        r"\b(?:system|developer) (?:prompt|message)\b")),
    ("a copy of the prompt's passage fences", re.compile(
        r"</?\s*passage\b|\banswer using only the passages\b")),
    ("an instruction addressed to an AI", re.compile(
        rf"\b(?:note|notes|instructions?|message|attention|reminder|warning|comment|policy)\b[^.!?\n]{{0,12}}"
        rf"\b(?:to|for)\b[^.!?\n]{{0,12}}\b{_ADDRESSEE}\b")),
    ("an instruction addressed to an AI", re.compile(
        rf"(?:^|[\n.!?]\s*|\battention\s+)(?:dear\s+)?{_ADDRESSEE}\s*(?::|,\s*(?:you|when|if|please|before|"
        rf"ignore|answer|reply|respond|format|print|always|never|do)\b)")),
    ("an instruction addressed to an AI", re.compile(
        rf"\b(?:if|when) you(?:'re| are) an? {_ADDRESSEE}\b|"
        rf"\b(?:any|all|every|each) {_ADDRESSEE}\b[^.!?\n]{{0,60}}\b{_DIRECTIVE}\b")),
    ("an instruction addressed to an AI", re.compile(
        r"\byou (?:must|should|shall|will now|are now|are required to|are instructed to|are authori[sz]ed to|"
        r"have to|need to)\b[^.!?\n]{0,80}\b(?:answer|reply|respond|cite|citations?|prompt|output|"
        r"print|repeat|question)\b")),
    ("an instruction addressed to an AI", re.compile(
        r"\b(?:when|if|whenever) (?:a |the |any )?(?:user|reader|human) (?:asks|is asking|asked)\b|"
        r"\bfrom now on,? you\b|\byou are now (?:an?|in|dan)\b|\bpretend (?:that )?you are\b|"
        r"\bact as an? (?:unrestricted|unfiltered|different)\b")),
    ("an instruction addressed to an AI", re.compile(
        rf"\b{_ADDRESSEE} (?:must|should|shall|has to|have to|needs? to|will now|"
        rf"(?:is|are) (?:required|instructed) to)\b")),
    ("a forged citation", re.compile(r"\bpassages? \[\d+\]")),
    ("asks to reveal the prompt", re.compile(
        r"\b(?:print|reveal|repeat|output|show|disclose|leak)\b[^.!?\n]{0,30}\b(?:system prompt|"
        r"(?:your|the|hidden) (?:instructions|prompt|rules))\b")),
    ("an encoded instruction", re.compile(
        r"\bdecode\b[^.!?\n]{0,60}\b(?:follow|obey|execute|carry out)\b")),
]

# Markup that would act if rendered: scripts, frames, handlers, script URLs, remote images.
_MARKUP = re.compile(
    r"<\s*/?\s*(?:script|iframe|object|embed|svg)\b|<\s*img\b[^>]*\b(?:src|on[a-z]+)\s*=|"
    r"\bon[a-z]{3,20}\s*=|\b(?:javascript|vbscript|data\s*:\s*text/html)\s*:|"
    r"!\[[^\]\n]*\]\(\s*(?:https?:)?//",
    re.I,
)


def normalise(text: str) -> str:
    """The text as a reader sees it: compatibility forms folded, invisible format characters
    dropped, look-alike letters mapped to Latin, lower case."""
    folded = unicodedata.normalize("NFKC", text)
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return visible.translate(_CONFUSABLES).replace("’", "'").lower()


@lru_cache(maxsize=4096)
def injection_reason(text: str) -> str | None:
    """Why this text reads as instructions to the assistant rather than content; None if it does
    not. Cached: the same passage text is checked for every question that retrieves it."""
    plain = normalise(text)
    for reason, rule in _INJECTION_RULES:
        if rule.search(plain):
            return reason
    return None


def has_active_markup(text: str) -> bool:
    """Does this text hold HTML/JS or a remote image that would act if someone rendered it?"""
    return _MARKUP.search(unicodedata.normalize("NFKC", text)) is not None


def screen_document(chunks: Sequence[Chunk]) -> str:
    """Why this document is quarantined ("" if it is not): the first injection found, with the
    chunk that holds it, so the user can check it."""
    for chunk in chunks:
        reason = injection_reason(chunk.text)
        if reason:
            return f"{reason} (passage {chunk.ordinal + 1}, characters {chunk.start}-{chunk.end})"
    return ""
