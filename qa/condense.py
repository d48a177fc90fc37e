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
from .wordlists import alternation

_FOLLOW_UP_START = re.compile(rf"^\s*({alternation('follow_up_openers.txt')})\b", re.I)
_REFERRING = re.compile(rf"\b({alternation('referring_words.txt')})\b", re.I)


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
