"""Sentence boundaries as character spans.

Hand-written on purpose: llama-index's splitters re-join text and lose exact offsets, and the
verifier needs the same splitter for answers as the chunker uses for documents. Rules: a line
break ends a sentence (cables and headlines are line-structured) unless the next line goes on in
lower case, or the text is hard-wrapped (cables, newswires: no line over 100 characters) and the
line runs to near the wrap width without ending a sentence ("…with the Securities and Exchange\n
Commission on Tuesday…"); so does `.?!` (plus closing quotes) before whitespace and a letter
that is not lower case (upper case in any script, or one with no case), a digit or a quote,
unless the word before is a known abbreviation or a single initial; and so does a CJK full stop,
exclamation or question mark (plus closing quotes), followed by whitespace or not, as CJK text
puts no space between sentences.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "gen", "col", "lt", "sgt", "capt", "gov", "sen", "rep",
    "st", "jr", "sr", "no", "vs", "etc", "inc", "ltd", "co", "corp", "dept", "jan", "feb",
    "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n",
    "e.g", "i.e", "approx", "est", "fig", "al", "op", "para", "ref", "amb", "adm",
    # German and Russian ones that come before a capitalised word or a name.
    "bzw", "usw", "vgl", "nr", "гг", "ул", "им", "тыс", "млн", "млрд", "руб", "проф", "акад",
    "св", "стр", "др", "пр", "т.е", "т.к", "т.д", "т.п", "т.н",
}
# Group 1: the first character after the whitespace (and an opening quote), which _starts_sentence
# judges; a CJK end (group 2) needs no whitespace after it. German closes a quote with “ and
# Russian with », which an English sentence never puts straight after its full stop.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’»“)\]]*(?=\s+[\"“‘'(\[«„]?(\S))"
                       r"|([。！？｡][。！？｡!?]*[」』”’）】〕〉》\"')\]]*)")
# A letter is what \w takes less digits and "_" (Unicode-aware, as the words before a dot are).
_WORD_BEFORE = re.compile(r"([^\W\d_](?:[^\W\d_]|\.)*)$")
_INITIALISM = re.compile(r"[^\W\d_](?:\.[^\W\d_])*")
# Hard-wrapped text never has a line longer than this; paragraphs on one line always do.
_MAX_WRAP = 100
# A line this close to the wrap width was broken by the wrapping, not by the writer.
_WRAPPED_SHARE = 0.7
_ENDS_SENTENCE = re.compile(r"[.!?:;…。！？｡][\"'”’»“)\]」』）]*$")
# Lines that start something new even inside wrapped text: list items, paragraph marks, header
# fields ("Date: …", "SUBJECT: …"). List numbers are short: "…client since\n1955." goes on.
_STARTS_NEW = re.compile(r"(?:[-–—•*¶(]|\d{1,2}[.)]\s|[A-Z][\w .-]{0,30}:\s)")


def _word_char(ch: str) -> bool:
    """A letter or a dot, as _WORD_BEFORE's classes take them."""
    return ch == "." or (ch.isalnum() and not ch.isdecimal())


def _starts_sentence(ch: str) -> bool:
    return ch.isdigit() or ch == "¶" or (ch.isalpha() and not ch.islower())


def _is_abbreviation(text: str, dot: int) -> bool:
    # Any match of _WORD_BEFORE lies inside the run of letters and dots that ends at `dot` (or
    # just before a newline at dot-1, where `$` also matches): search from that run's start only.
    # Searching from 0 gives the same match but costs O(dot), quadratic over a document.
    run = dot - 1 if dot > 0 and text[dot - 1] == "\n" else dot
    while run > 0 and _word_char(text[run - 1]):
        run -= 1
    match = _WORD_BEFORE.search(text, run, dot)
    if not match:
        return False
    word = match.group(1).lower().rstrip(".")
    # A single initial or a dotted initialism (E.O., U.S.A., p.m.) never ends a sentence here.
    return word in _ABBREVIATIONS or _INITIALISM.fullmatch(word) is not None


def _wrap_width(text: str, start: int, end: int) -> int:
    """The width text[start:end] is hard-wrapped at, or 0 when it is not wrapped (a line over
    _MAX_WRAP characters, or fewer than three lines). The 90th percentile of the line lengths,
    not the longest: one long header line must not raise the bar for every wrapped line."""
    lengths = sorted(len(line.rstrip()) for line in text[start:end].split("\n") if line.strip())
    if len(lengths) < 3 or lengths[-1] > _MAX_WRAP:
        return 0
    return lengths[int(0.9 * (len(lengths) - 1))]


def line_offset(text: str, at: int) -> int:
    """How many characters of the line holding offset `at` come before it."""
    return at - (text.rfind("\n", 0, at) + 1)


def sentence_spans(
    text: str, start: int = 0, end: int | None = None, lead: int = 0
) -> list[tuple[int, int]]:
    """Spans of the sentences in text[start:end], stripped of surrounding whitespace. `lead`: how
    many characters of the first line come before `text` (a passage cut from its document in
    mid-line); the line is as long as it is in the document, not as the cut leaves it."""
    end = len(text) if end is None else end
    lead += line_offset(text, start)
    spans: list[tuple[int, int]] = []

    def emit(a: int, b: int) -> None:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            spans.append((a, b))

    wrap = _wrap_width(text, start, end)

    def goes_on(nl: int) -> bool:
        """Does the line ending at this newline go on into the next line?"""
        if nl + 1 >= end:
            return False
        # "Mr Jafari’s Chinese\ncounterpart, made…": a line that goes on in lower case.
        if text[nl + 1].islower():
            return True
        if not wrap or text[nl + 1].isspace():
            return False
        line_from = text.rfind("\n", start, nl) + 1
        line = text[max(line_from, start):nl].rstrip()
        width = len(line) + (lead if line_from <= start else 0)
        return (width >= _WRAPPED_SHARE * wrap and not _ENDS_SENTENCE.search(line)
                and not _STARTS_NEW.match(text, nl + 1))

    line_start = start
    while line_start < end:
        nl = text.find("\n", line_start, end)
        while nl != -1 and goes_on(nl):
            nl = text.find("\n", nl + 1, end)
        line_end = end if nl == -1 else nl
        seg_start = line_start
        for match in _BOUNDARY.finditer(text, line_start, line_end):
            if match.group(2) is None and (
                not _starts_sentence(match.group(1))
                or (text[match.start()] == "." and _is_abbreviation(text, match.start()))):
                continue
            emit(seg_start, match.end())
            seg_start = match.end()
        emit(seg_start, line_end)
        line_start = line_end + 1
    return spans


def split_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]
