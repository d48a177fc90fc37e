"""Sentence boundaries as character spans.

Hand-written on purpose: llama-index's splitters re-join text and lose exact offsets, and the
verifier needs the same splitter for answers as the chunker uses for documents. Rules: a line
break ends a sentence (cables and headlines are line-structured) unless the next line goes on in
lower case (hard-wrapped text); so does `.?!` (plus closing
quotes) before whitespace and an upper-case letter, digit or quote, unless the word before is a
known abbreviation or a single initial.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "gen", "col", "lt", "sgt", "capt", "gov", "sen", "rep",
    "st", "jr", "sr", "no", "vs", "etc", "inc", "ltd", "co", "corp", "dept", "jan", "feb",
    "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n",
    "e.g", "i.e", "approx", "est", "fig", "al", "op", "para", "ref", "amb", "adm",
}
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"“‘'(\[]?[A-Z0-9¶])")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_INITIALISM = re.compile(r"[a-z](?:\.[a-z])*")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.")


def _is_abbreviation(text: str, dot: int) -> bool:
    # Any match of _WORD_BEFORE lies inside the run of [A-Za-z.] that ends at `dot` (or just
    # before a newline at dot-1, where `$` also matches): search from that run's start only.
    # Searching from 0 gives the same match but costs O(dot), quadratic over a document.
    run = dot - 1 if dot > 0 and text[dot - 1] == "\n" else dot
    while run > 0 and text[run - 1] in _WORD_CHARS:
        run -= 1
    match = _WORD_BEFORE.search(text, run, dot)
    if not match:
        return False
    word = match.group(1).lower().rstrip(".")
    # A single initial or a dotted initialism (E.O., U.S.A., p.m.) never ends a sentence here.
    return word in _ABBREVIATIONS or _INITIALISM.fullmatch(word) is not None


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of the sentences in text[start:end], stripped of surrounding whitespace."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []

    def emit(a: int, b: int) -> None:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            spans.append((a, b))

    line_start = start
    while line_start < end:
        nl = text.find("\n", line_start, end)
        # A hard-wrapped line ("Mr Jafari’s Chinese\ncounterpart, made…") continues in lower case.
        while nl != -1 and nl + 1 < end and text[nl + 1].islower():
            nl = text.find("\n", nl + 1, end)
        line_end = end if nl == -1 else nl
        seg_start = line_start
        for match in _BOUNDARY.finditer(text, line_start, line_end):
            if text[match.start()] == "." and _is_abbreviation(text, match.start()):
                continue
            emit(seg_start, match.end())
            seg_start = match.end()
        emit(seg_start, line_end)
        line_start = line_end + 1
    return spans


def split_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]
