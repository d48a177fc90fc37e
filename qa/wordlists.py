"""The answer rules' word lists, read from qa/data/.

The rules are regular expressions over English words; the words live in plain text files so that
a list can be read, reviewed and extended without reading the regex around it. One entry a line,
`#` starts a comment; a table is tab-separated. Entries keep their file order: an alternation
tries its words in that order, as the regex written by hand did.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

DATA_PACKAGE = "qa.data"


class WordListError(FileNotFoundError):
    """A word list the rules need is missing or empty (a broken install, a renamed file)."""


@cache
def entries(name: str) -> tuple[str, ...]:
    """The entries of qa/data/<name>, in file order, without comments and blank lines."""
    source = resources.files("qa").joinpath("data").joinpath(name)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WordListError(f"word list qa/data/{name} is missing (is the package installed "
                            f"with its data files?)") from None
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    found = tuple(line for line in lines if line)
    if not found:
        # An empty alternation would match everywhere: better to stop at import.
        raise WordListError(f"word list qa/data/{name} has no entries")
    return found


def word_set(name: str) -> frozenset[str]:
    return frozenset(entries(name))


def alternation(name: str) -> str:
    """The entries as a regex alternation (no group), each matched literally."""
    return "|".join(re.escape(e) for e in entries(name))


def pairs(name: str) -> dict[str, str]:
    """A two-column, tab-separated list as a mapping from the first column to the second."""
    out: dict[str, str] = {}
    for e in entries(name):
        key, sep, value = e.partition("\t")
        if not sep or "\t" in value:
            raise WordListError(f"word list qa/data/{name}: {e!r} is not two tab-separated columns")
        out[key.strip()] = value.strip()
    return out
