"""When a question places its event, and whether a passage can speak of that time.

A near miss often differs from its answer only in time: the question asks what OPEC agreed at its
December conference, the passage reports the ceiling agreed in June; it asks about a 2010 bank
run, the cable was written in 2009. The document's date (found by the loaders) and the months and
years the passage names decide it; the text outranks the date.
"""

from __future__ import annotations

import re

from .wordlists import alternation, entries

MONTH_NAMES = entries("month_names.txt")
# Regex alternations: the months written out, and as abbreviated ("May" needs none).
FULL_MONTHS = alternation("month_names.txt")
SHORT_MONTHS = alternation("month_abbreviations.txt")

_MONTH_NUMBERS = {m.lower(): i for i, m in enumerate(MONTH_NAMES, 1)}
_MONTH_ABBREVIATIONS = {m[:3].lower(): i for m, i in _MONTH_NUMBERS.items()}
# A month the question places its event in: "at its December 1987 conference", "in late March".
# "May" is a month only where a date reads so ("in May", "May 4", "May 2009"), not Theresa May.
_ASKED_MONTH = re.compile(rf"(?<!^)\b({FULL_MONTHS.replace('May|', '')}|(?<=in |by |of )May|"
                          rf"May(?= \d))\b")
_ISO_MONTH = re.compile(r"^\d{4}-(\d{2})\b")
_WRITTEN_MONTH = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)(?:uary|ruary|ch|il|e|y|"
                            r"ust|t|tember|ober|ember)?\b", re.I)


def _date_month(date: str) -> int | None:
    """The month of a document date as the loaders find it ("2009-12-29 10:01", "29-JUN-1987")."""
    if m := _ISO_MONTH.match(date):
        return int(m.group(1))
    if m := _WRITTEN_MONTH.search(date):
        return _MONTH_ABBREVIATIONS[m.group(1).lower()]
    return None


_ASKED_PERIOD = re.compile(rf"(?<!^)\b(?:({FULL_MONTHS}) )?((?:1[5-9]|20)\d\d)\b(?!s)")
_ISO_YEAR = re.compile(r"^(\d{4})-")
_WRITTEN_YEAR = re.compile(r"\b((?:1[5-9]|20)\d\d)\b")
# A question about plans or forecasts may well name a time after its document was written.
_FUTURE_Q = re.compile(r"\b(will|would|expect\w*|plan\w*|forecast\w*|project\w*|schedul\w*|due|"
                       r"next|to be|intend\w*|aim\w*|target\w*|predict\w*|estimat\w*)\b", re.I)
_CABLE_DTG = re.compile(r"^\d{6}Z\s+[A-Z]{3}\s+(\d{2})$")


def _written(date: str) -> tuple[int, int] | None:
    """A document date as (year, month), in the loaders' forms: "2009-12-29 10:01",
    "29-JUN-1987", "Mar 12, 2008", a cable's "150945Z MAY 08"."""
    month = _date_month(date)
    if month is None:
        return None
    if year := _ISO_YEAR.match(date) or _WRITTEN_YEAR.search(date):
        return int(year.group(1)), month
    if short := _CABLE_DTG.match(date.strip()):
        yy = int(short.group(1))
        return (2000 + yy if yy < 50 else 1900 + yy), month
    return None


def dated_as_asked(evidence: str, date: str, question: str) -> bool:
    """Does the evidence belong to the time the question places its event in?

    A month the question names must be named by the evidence, or be the month its document was
    written or the one before (a cable reports last week's meeting without naming the month): a
    Reuters item from June about "the ceiling agreed by OPEC Saturday" does not answer what OPEC
    agreed at its December conference. And a document cannot tell what happened after it was
    written: a 2009 cable does not report the 2010 run on a bank (unless the question asks what
    was planned or expected)."""
    written = _written(date)
    if written is not None and not _FUTURE_Q.search(question):
        periods = [(int(y), _MONTH_NUMBERS[m.lower()] if m else 0)
                   for m, y in _ASKED_PERIOD.findall(question)]
        # The text outranks the date found for its document (which may be a date quoted in it).
        if periods and all(p > written and str(p[0]) not in evidence for p in periods):
            return False
    asked = {_MONTH_NUMBERS[m.lower()] for m in _ASKED_MONTH.findall(question)}
    if not asked:
        return True
    for month in asked:
        name = MONTH_NAMES[month - 1]
        # Case-sensitive: "May" the month, not "may" the verb; newswires write "29-JUN-1987".
        if re.search(rf"\b(?:{name}\b|{name[:3]}\.?(?= ?\d)|{name[:3].upper()}\b)", evidence):
            return True
    return written is None or any(written[1] in (m, m % 12 + 1) for m in asked)
