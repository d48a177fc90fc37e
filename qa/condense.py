"""Follow-up questions → standalone questions.

The bundled 135M model cannot rewrite questions reliably, so the default is a heuristic: a
question that leans on the previous turn (a pronoun or "what about …" with few words of its own)
is joined to the previous standalone question, which retrieval and the verifier then use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.keyword import tokenize

from .models import Turn

_FOLLOW_UP_START = re.compile(
    r"^\s*(and|also|but|so|then|what about|how about|and what|what else|why|when was that|"
    r"where was that|who was that)\b",
    re.I,
)
_REFERRING = re.compile(
    r"\b(it|its|that|this|those|these|they|them|their|he|him|his|she|her|there|then|the same)\b",
    re.I,
)


def is_follow_up(question: str) -> bool:
    own_terms = tokenize(question)
    if _FOLLOW_UP_START.search(question):
        return True
    return bool(_REFERRING.search(question)) and len(own_terms) <= 3


def condense(question: str, history: Sequence[Turn]) -> str:
    if not history or not is_follow_up(question):
        return question.strip()
    previous = history[-1].standalone or history[-1].question
    return f"{question.strip()} (follow-up to: {previous.strip()})"
