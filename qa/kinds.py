"""The kinds of answer a question may ask for (qa/answer_type.py decides which).

A StrEnum, so that a kind still equals the string it was before ("date" == AnswerKind.DATE) in
results files, tests and callers that compare with strings.
"""

from __future__ import annotations

import enum


class AnswerKind(enum.StrEnum):
    DATE = "date"
    MONEY = "money"
    QUANTITY = "quantity"
    MEASURE = "measure"
    PERCENT = "percent"
    DURATION = "duration"
    NAME = "name"
    PERSON = "person"


# Only a hard answer type (a date, an amount, a number) is trusted in a neighbouring sentence; a
# "name" there is too often just another capitalised word.
HARD_KINDS = frozenset({AnswerKind.DATE, AnswerKind.MONEY, AnswerKind.QUANTITY, AnswerKind.MEASURE,
                        AnswerKind.PERCENT, AnswerKind.DURATION})
