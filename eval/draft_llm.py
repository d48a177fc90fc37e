"""`dossier eval draft` with an LLM: natural questions, checked against the document's own text.

Per document the model reads a few windows of its content sentences (at most WINDOW_CHARS
characters per call, so a 1.5B model on a CPU stays fast) and answers with a JSON array, one
object per line (a bare object per line, or one pretty-printed, parses too). Four calls per
document: factoids from two windows spread over it, one open question and near misses from its
first window. Three kinds of question:

- factoid: {"question", "answer", "evidence"} → a gold row with `answers` and `evidence` (`kind`
  date, number or fact, by the answer's shape);
- open: {"question", "kind", "points": [{"answer", "evidence"}, ...]} → a row with `key_points`;
- near miss: {"question", "answer": ""} → `answerable: false`, `kind` unanswerable.

Nothing the model says is trusted. A row is kept only when:

- its evidence has at least MIN_EVIDENCE_WORDS words and occurs verbatim in the document once
  whitespace is normalised (" ".join(s.split())); nothing else is forgiven (not even straight
  quotes for curly ones) but a full stop the model added at its end, which is dropped. The row
  carries the document's own substring, an exact quote;
- its answer occurs inside its evidence (case-insensitive), is at most MAX_ANSWER_WORDS words and
  is not given away by the question;
- its question is no cloze (no "___", no "fill in the blank") and does not copy its evidence:
  leaving out wh-words, a question of COPY_MIN_WORDS words or more is rejected when more than
  COPY_SHARE of its words occur in the same order in the evidence;
- an open question keeps at least two valid key points (invalid points are dropped and counted;
  an unknown `kind` is read off the question's first word);
- it does not repeat a kept question of the document (same words, or same answer and evidence);
- a near miss names at least one of the document's words (it is about the document's subject),
  has at least one content word the document never uses (the detail it leaves out; words are
  compared by a crude stem), any answer the model offers for it does not occur in the document,
  and it does not name the prompt's made-up example (the Tamar bridge).

The near-miss test looks at words, not meaning: a question that paraphrases what the document
does say passes it. Near misses still need a human's review before they go into a gold set.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from qa.llm import LLM, Message, complete

WINDOW_CHARS = 1500
FACTOID_WINDOWS = 2  # windows per document asked for factoids (spread over the document)
FACTOIDS_PER_CALL = 3
NEAR_MISSES_PER_CALL = 2
MIN_SENTENCE_WORDS = 4
MAX_ANSWER_WORDS = 10
MIN_EVIDENCE_WORDS = 4
COPY_MIN_WORDS = 5
COPY_SHARE = 0.7
OPEN_KINDS = ("definition", "summary", "list", "compare", "why")

SYSTEM = ("You write test questions about a text, for checking a question-answering system. "
          "Reply only with a JSON array, one object per line, and nothing else.")

# Each prompt shows a worked example on a made-up text first: a 1.5B model copies a shown format
# (a short answer, a rephrased question, several items in an array) far better than it follows a
# described one. A question copied from the example fails the evidence check, so the example
# cannot leak into a gold set.
EXAMPLE_TEXT = ("The bridge over the Tamar was opened in 1961 by the Queen Mother.\n"
                "It cost 1.8 million pounds, paid by tolls.\n"
                "Engineers chose a suspension design because the river is too deep for piers.\n"
                "It was designed by Mott, Hay and Anderson, and Dorman Long built the towers.")

FACTOID_PROMPT = """Example text:
<<<
{example}
>>>
Example answer:
[{{"question": "Who opened the Tamar bridge?", "answer": "the Queen Mother", "evidence": "The \
bridge over the Tamar was opened in 1961 by the Queen Mother."}},
 {{"question": "How much did the bridge over the Tamar cost?", "answer": "1.8 million pounds", \
"evidence": "It cost 1.8 million pounds, paid by tolls."}},
 {{"question": "Why does the Tamar bridge hang from cables?", "answer": "the river is too deep for \
piers", "evidence": "Engineers chose a suspension design because the river is too deep for piers."}}]

Text:
<<<
{text}
>>>

Write a JSON array of {n} questions that this text answers, each about a different fact, as in \
the example:
- question: a natural question, in other words than the text. Never copy the sentence; no blanks.
- answer: the short answer (a name, number, date or a few words), copied from the evidence.
- evidence: the one sentence of the text that holds the answer, copied exactly, word for word, \
with its capitals and punctuation."""

OPEN_PROMPT = """Example text:
<<<
{example}
>>>
Example answer:
[{{"question": "Which firms worked on the Tamar bridge?", "kind": "list", "points": [{{"answer": \
"Mott, Hay and Anderson", "evidence": "It was designed by Mott, Hay and Anderson"}}, {{"answer": \
"Dorman Long", "evidence": "Dorman Long built the towers"}}]}}]

Text:
<<<
{text}
>>>

Write a JSON array with 1 question about this text whose answer needs 2 to 4 points from \
different sentences, as in the example. It may ask for a list ("Which ... are named?"), a summary \
("What does the text say about ...?"), a reason ("Why ...?"), a comparison or a definition.
- question: the question.
- kind: list, summary, why, compare or definition.
- points: 2 to 4 points; answer: a name or a few words; evidence: the words of the text that hold \
the answer, copied exactly."""

NEAR_MISS_PROMPT = """Example text:
<<<
{example}
>>>
Example answer:
[{{"question": "How long is the bridge over the Tamar?", "answer": ""}},
 {{"question": "How many vehicles cross the Tamar bridge each day?", "answer": ""}}]
(The text gives the year, the opener, the cost, the design and the builders, but never the length \
or the traffic.)

Text:
<<<
{text}
>>>

Think of details a reader would want about the subject of this text that the text never gives: \
a size, an amount, a count, an exact date, a place or a person's name. Write a JSON array of {n} \
questions asking for such missing details, as in the example, with "answer" left empty. Do not \
ask about anything the text states. The questions must be about this text's subject, never about \
the bridge in the example."""

MAX_TOKENS = {"factoid": 360, "open": 320, "near miss": 160}

_WORD = re.compile(r"\w+(?:[-'’]\w+)*")
_CLOZE = re.compile(r"_{2,}|\bfill\s+(?:in\s+)?the\s+blanks?\b", re.I)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_DIGIT = re.compile(r"\d")
_WH = frozenset("what who whom whose which when where why how many much".split())
# Words that say nothing about what a near miss asks: wh-words, auxiliaries, pronouns, and the
# words questions use to point at the text itself.
_STOP = _WH | frozenset("""
    a an the and or but of in on at to for from by with about as into than then that this these
    those there their they them it its is are was were be been being do does did done has have had
    will would can could should may might must shall not no yes any all each every some other
    over under after before between during against within without through since until while upon
    onto off out up down via per also more most very such only just own same both few one two new
    old first last
    according text document article report say says said mention mentioned state stated give
    given name named year years time times
    """.split())
# The made-up example's subject: a near miss that names it was copied from the prompt (factoids
# and key points copied from it already fail the evidence check).
_EXAMPLE_SUBJECT = "tamar"


@dataclass
class Tally:
    """What the model proposed and what became of it; the CLI prints it on stderr."""

    kept: Counter[str] = field(default_factory=Counter)  # by question kind
    rejected: Counter[str] = field(default_factory=Counter)  # by reason
    dropped_points: Counter[str] = field(default_factory=Counter)  # key points, by reason
    calls: int = 0


class Rejected(Exception):
    """A proposal that fails a check; the message is the reason counted."""


class Doc:
    """A document's text, its source name, and what the checks look it up in."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        # The whitespace-normalised text, and for each of its characters the index in `text`,
        # so that a match can be handed back as the document's own substring.
        chars: list[str] = []
        self._offsets: list[int] = []
        space = False
        for i, ch in enumerate(text):
            if ch.isspace():
                space = bool(chars)
                continue
            if space:
                chars.append(" ")
                self._offsets.append(i)
                space = False
            chars.append(ch)
            self._offsets.append(i)
        self.squashed = "".join(chars)
        self.stems = frozenset(_stem(w) for w in _words(self.squashed))

    def quote(self, evidence: str) -> str:
        """The document's own text for `evidence` (matched with whitespace normalised)."""
        wanted = squash(evidence)
        if len(_words(wanted)) < MIN_EVIDENCE_WORDS:
            raise Rejected("evidence too short")
        at = self.squashed.find(wanted)
        if at < 0 and wanted.endswith("."):
            # A sentence cut short by the model gains a full stop; what precedes it is still a quote.
            wanted = wanted[:-1]
            at = self.squashed.find(wanted)
        if at < 0:
            raise Rejected("evidence not in the document")
        return self.text[self._offsets[at]: self._offsets[at + len(wanted) - 1] + 1]


def squash(text: str) -> str:
    return " ".join(text.split())


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _stem(word: str) -> str:
    # Crude on purpose, the same on both sides: enough that "ships" meets "shipped", "factories"
    # meets "factory" and "bicycle" meets "bicycles".
    for suffix in ("ies", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    if len(word) > 4 and word[-1] == word[-2]:
        word = word[:-1]
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def _in_order(a: list[str], b: list[str]) -> int:
    """How many of `a`'s words occur in `b` in the same order, gaps allowed (the longest common
    subsequence)."""
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal = 0
        for j, y in enumerate(b, 1):
            above = row[j]
            row[j] = diagonal + 1 if x == y else max(above, row[j - 1])
            diagonal = above
    return row[-1]


# -- checks -----------------------------------------------------------------------------------


def _text_field(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Rejected("missing field")
    return squash(value)


def check_question(question: str, evidence: list[str]) -> None:
    if _CLOZE.search(question):
        raise Rejected("cloze")
    words = [w for w in _words(question) if w not in _WH]
    for quote in evidence:
        if len(words) >= COPY_MIN_WORDS and _in_order(words, _words(quote)) > COPY_SHARE * len(words):
            raise Rejected("copies the evidence")


def _find_words(needle: str, haystack: str) -> re.Match[str] | None:
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack, re.I)


def check_answer(answer: str, evidence: str, question: str) -> str:
    """The answer as the evidence spells it."""
    answer = answer.strip(" .,;:")
    if not answer:
        raise Rejected("missing field")
    # Whole words only: "ran" is not an answer found in "Iran".
    found = _find_words(answer, squash(evidence))
    if found is None:
        raise Rejected("answer not in its evidence")
    if len(answer.split()) > MAX_ANSWER_WORDS:
        raise Rejected("answer too long")
    if _find_words(answer, question):
        raise Rejected("answer in the question")
    return squash(evidence)[found.start(): found.end()]


def factoid_row(obj: dict[str, Any], doc: Doc) -> dict[str, Any]:
    question = _text_field(obj, "question")
    evidence = doc.quote(_text_field(obj, "evidence"))
    answer = check_answer(_text_field(obj, "answer"), evidence, question)
    check_question(question, [evidence])
    kind = "date" if _YEAR.search(answer) else "number" if _DIGIT.search(answer) else "fact"
    return {"question": question, "answers": [answer], "sources": [doc.source],
            "evidence": [evidence], "answerable": True, "kind": kind}


def open_row(obj: dict[str, Any], doc: Doc, tally: Tally) -> dict[str, Any]:
    question = _text_field(obj, "question")
    points: list[dict[str, Any]] = []
    proposed = obj.get("points")
    for point in proposed if isinstance(proposed, list) else []:
        try:
            if not isinstance(point, dict):
                raise Rejected("missing field")
            evidence = doc.quote(_text_field(point, "evidence"))
            answer = check_answer(_text_field(point, "answer"), evidence, question)
            if any(answer.lower() == p["answers"][0].lower() for p in points):
                raise Rejected("duplicate")
        except Rejected as why:
            tally.dropped_points[str(why)] += 1
            continue
        points.append({"answers": [answer], "evidence": evidence, "source": doc.source})
    if len(points) < 2:
        raise Rejected("fewer than 2 valid key points")
    points = points[:4]
    check_question(question, [p["evidence"] for p in points])
    kind = obj.get("kind")
    return {"question": question, "answers": [], "sources": [doc.source], "evidence": [],
            "answerable": True, "kind": kind if kind in OPEN_KINDS else _open_kind(question),
            "key_points": points}


def _open_kind(question: str) -> str:
    # The shape the answering side reads; a question of no open shape is filed as a summary.
    from qa.open_questions import open_kind

    return str(open_kind(question) or "summary")


def near_miss_row(obj: dict[str, Any], doc: Doc) -> dict[str, Any]:
    question = _text_field(obj, "question")
    check_question(question, [])
    content = [w for w in _words(question) if w not in _STOP and len(w) > 2]
    if _EXAMPLE_SUBJECT in content and _EXAMPLE_SUBJECT not in doc.stems:
        raise Rejected("copied from the prompt's example")
    present = [w for w in content if _stem(w) in doc.stems]
    if not present:
        raise Rejected("near miss: not about the document")
    if len(present) == len(content):
        raise Rejected("near miss: all its key words are in the document")
    offered = obj.get("answer")
    offered = squash(offered).strip(" .,;:") if isinstance(offered, str) else ""
    if offered and _find_words(offered, doc.squashed):
        raise Rejected("near miss: its answer is in the document")
    return {"question": question, "answers": [], "sources": [], "evidence": [],
            "answerable": False, "kind": "unanswerable"}


# -- the model --------------------------------------------------------------------------------


def objects(reply: str) -> tuple[list[dict[str, Any]], int]:
    """The JSON objects in a reply (one per line, or an array, or pretty-printed) and how many
    attempts at one did not parse (a reply cut off by max_tokens ends in one)."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    bad = 0
    pos = reply.find("{")
    while pos >= 0:
        try:
            obj, end = decoder.raw_decode(reply, pos)
        except json.JSONDecodeError:
            bad += 1
            newline = reply.find("\n", pos)
            end = len(reply) if newline < 0 else newline
        else:
            if isinstance(obj, dict):
                found.append(obj)
        pos = reply.find("{", end)
    return found, bad


def windows(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """Content sentences, one per line, grouped into windows of at most WINDOW_CHARS."""
    out: list[str] = []
    lines: list[str] = []
    for a, b in spans:
        sentence = squash(text[a:b])
        if len(sentence.split()) < MIN_SENTENCE_WORDS or len(sentence) > WINDOW_CHARS:
            continue
        if lines and sum(len(s) + 1 for s in lines) + len(sentence) > WINDOW_CHARS:
            out.append("\n".join(lines))
            lines = []
        lines.append(sentence)
    if lines:
        out.append("\n".join(lines))
    return out


def _spread(items: list[str], n: int) -> list[str]:
    if len(items) <= n:
        return items
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)] if n > 1 else items[:1]


def _ask(llm: LLM, prompt: str, kind: str, tally: Tally) -> list[dict[str, Any]]:
    messages: list[Message] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
    reply = complete(llm, messages, max_tokens=MAX_TOKENS[kind])
    tally.calls += 1
    found, bad = objects(reply)
    if bad:
        tally.rejected["not JSON"] += bad
    return found


def draft_document(llm: LLM, doc: Doc, spans: list[tuple[int, int]],
                   tally: Tally) -> Iterator[dict[str, Any]]:
    """Checked gold rows (without ids) for one document."""
    parts = windows(doc.text, spans)
    if not parts:
        return
    first, example = parts[0], EXAMPLE_TEXT
    calls = [("factoid", FACTOID_PROMPT.format(example=example, text=w, n=FACTOIDS_PER_CALL))
             for w in _spread(parts, FACTOID_WINDOWS)]
    calls.append(("open", OPEN_PROMPT.format(example=example, text=first)))
    calls.append(("near miss", NEAR_MISS_PROMPT.format(example=example, text=first,
                                                       n=NEAR_MISSES_PER_CALL)))
    seen: set[str] = set()
    for kind, prompt in calls:
        for obj in _ask(llm, prompt, kind, tally):
            try:
                if kind == "factoid":
                    row = factoid_row(obj, doc)
                elif kind == "open":
                    row = open_row(obj, doc, tally)
                else:
                    row = near_miss_row(obj, doc)
                keys = _keys(row)
                if keys & seen:
                    raise Rejected("duplicate")
            except Rejected as why:
                tally.rejected[str(why)] += 1
                continue
            seen |= keys
            tally.kept[kind] += 1
            row["draft"] = DRAFT_NOTES[kind].format(name=llm.name)
            yield row


def _keys(row: dict[str, Any]) -> set[str]:
    """A row repeats another when it asks the same words, or finds the same answer in the same
    evidence (the same fact asked twice, once per window)."""
    keys = {" ".join(_words(row["question"]))}
    if row["answers"]:
        keys.add(f"{row['answers'][0].lower()}\n{squash(row['evidence'][0])}")
    return keys


DRAFT_NOTES = {
    "factoid": "llm {name}: factoid; answer and evidence checked verbatim against the document",
    "open": "llm {name}: open question; each key point's answer and evidence checked verbatim "
            "against the document; check the points cover the answer",
    "near miss": "llm {name}: near miss; checked by words only: confirm the document does not "
                 "answer it",
}
