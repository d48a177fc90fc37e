"""Sentence-level evidence scoring shared by the verifier, the extractive answerer and abstention.

A claim is compared with the sentences of a passage on three signals: rarity-weighted term
recall (are the claim's words there?), hard facts (every number and proper name in the claim
must occur in the passage), and embedding similarity (does it say the same thing?).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from index.keyword import tokenize
from index.models import Passage
from index.screening import has_active_markup, injection_reason
from index.sentences import sentence_spans

from .glossary import spell_out
from .timeframe import FULL_MONTHS, SHORT_MONTHS
from .wordlists import entries

_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z]+(?:[-–][A-Z0-9][\w]*)?")
_MONTH = f"{FULL_MONTHS}|{SHORT_MONTHS}"
# Month names are written with a capital ("may" is a verb); a day or a year written next to one.
_DATE = re.compile(rf"\b(?P<m1>{_MONTH})\.? (?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,? (?P<y1>\d{{4}}))?"
                   rf"|(?P<y2>\d{{4}}))\b"
                   rf"|\b(?P<d2>\d{{1,2}})(?:st|nd|rd|th)? (?:of )?(?P<m2>{_MONTH})\b\.?"
                   rf"(?:,? (?P<y3>\d{{4}}))?")
_CITATION = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_QUESTION_WORDS = frozenset(tokenize(" ".join(entries("question_words.txt"))))

Encode = Callable[[Sequence[str]], np.ndarray]
Idf = Callable[[str], float]


def strip_citations(text: str) -> str:
    return _CITATION.sub("", text).strip()


def citations_in(text: str) -> list[int]:
    return [int(n) for group in _CITATION.findall(text) for n in re.split(r"\s*,\s*", group)]


# A word as the answer rules read it: "U.S.", "Jong-il", "Iran’s".
WORD = re.compile(r"[A-Za-z][\w’'.-]*")


def is_heading(text: str) -> bool:
    """A title-case heading ("PRC Sees USG and Google Working Together", "Iranian Arms
    Transfers"): no closing punctuation, and most of its longer words capitalised. It names a
    topic; it states no fact and names no one."""
    words = [w for w in WORD.findall(text) if len(w) > 3]
    return (not text.rstrip().endswith((".", "!", "?", '"', "”")) and len(words) >= 2
            and sum(w[0].isupper() for w in words) >= 0.75 * len(words))


def numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def names(text: str) -> set[str]:
    return {m.group(0).lower() for m in _NAME.finditer(text)}


def grounded(claim: str, evidence: str) -> bool:
    """Are the claim's figures and names all in `evidence` (a few sentences, not a whole passage)?
    A draft may take "2021" from one sentence of a passage and pin it to another's event."""
    lower = evidence.lower()
    return not (numbers(claim) - numbers(evidence)) and all(n in lower for n in names(claim))


def question_terms(question: str) -> list[str]:
    return [t for t in tokenize(question) if t not in _QUESTION_WORDS]


def weighted_recall(terms: Sequence[str], haystack: set[str], idf: Idf) -> float:
    if not terms:
        return 0.0
    total = sum(idf(t) for t in terms)
    found = sum(idf(t) for t in terms if t in haystack)
    return found / total if total else 0.0


@dataclass(frozen=True, slots=True)
class SentenceEvidence:
    passage: int  # index into the passages given
    start: int  # offsets into the passage text
    end: int
    text: str


def passage_sentences(passages: Sequence[str], leads: Sequence[int] = ()) -> list[SentenceEvidence]:
    leads = list(leads) or [0] * len(passages)
    return [
        SentenceEvidence(i, a, b, text[a:b])
        for i, (text, lead) in enumerate(zip(passages, leads, strict=True))
        for a, b in sentence_spans(text, lead=lead)
        if len(text[a:b].split()) >= 3
    ]


def trusted_evidence(
    passages: Sequence[str], leads: Sequence[int] = (),
) -> tuple[list[str | None], list[SentenceEvidence], dict[int, int]]:
    """Which passages may serve as evidence (qa/injection.py): for each passage the reason it is
    not trusted (None if it is), the sentences that may be quoted or support a claim (none from an
    untrusted passage, none holding active markup), and each trusted passage's rank among the
    trusted ones."""
    untrusted = [injection_reason(text) for text in passages]
    sentences = [s for s in passage_sentences(passages, leads)
                 if untrusted[s.passage] is None and not has_active_markup(s.text)]
    trusted = [i for i, reason in enumerate(untrusted) if reason is None]
    return untrusted, sentences, {i: rank for rank, i in enumerate(trusted)}


@dataclass(frozen=True, slots=True)
class Support:
    supported: bool
    score: float
    recall: float
    similarity: float
    best: SentenceEvidence | None
    reason: str


def calendar_dates(text: str) -> set[tuple[str, str]]:
    """The (month, day or year) pairs a text writes: "April 2009", "June 24", "24 June 2025"."""
    out = set()
    for m in _DATE.finditer(text):
        month = (m.group("m1") or m.group("m2"))[:3].lower()
        out.update((month, n) for n in (m.group(g) for g in ("d1", "y1", "y2", "d2", "y3")) if n)
    return out


def _word_run(text: str) -> str:
    """Words only, lower-cased, space-joined and padded: "Title:" and "Title." compare alike."""
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "


def _fact_gaps(claim: str, passage: str, given: str = "") -> str:
    """The figures, dates and names of `claim` that neither the passage nor `given` (the question,
    which a reader may restate) holds."""
    missing_numbers = numbers(claim) - numbers(passage) - numbers(given)
    if missing_numbers:
        return f"numbers not in the passage: {', '.join(sorted(missing_numbers))}"
    # Each figure may be there and the date still wrong: "scheduled for May 2009" from a passage
    # that says "April 2009" and, elsewhere, "May".
    missing_dates = calendar_dates(claim) - calendar_dates(passage) - calendar_dates(given)
    if missing_dates:
        return "dates not in the passage: " + ", ".join(f"{m.title()} {n}" for m, n in sorted(missing_dates))
    passage_lower, given_lower = passage.lower(), given.lower()
    missing_names = [n for n in names(claim) if n not in passage_lower and n not in given_lower]
    if missing_names:
        return f"names not in the passage: {', '.join(sorted(missing_names))}"
    return ""


def check_support(
    claim: str,
    passage_text: str,
    sentences: Sequence[SentenceEvidence],
    sentence_vectors: np.ndarray,
    claim_vector: np.ndarray,
    idf: Idf,
    *,
    given: str = "",
    fragment: bool = False,
    min_recall: float = 0.5,
    min_score: float = 0.6,
) -> Support:
    """Is `claim` supported by this passage (whose sentences and their vectors are given)?

    `given` is the question: a sentence that restates it ("In March 1987 Dome blamed …") takes
    those words and figures from the question, and only what it adds must be in the passage — and
    it must add something."""
    given_terms = set(tokenize(given)) if given else set()
    # A restatement changes word forms ("Brazilian agencies" → "Brazil's agencies"): a claim
    # word counts as the question's when it shares the first five letters of a question word.
    given_stems = {t[:5] for t in given_terms if len(t) >= 5}
    all_terms = tokenize(claim)
    claim_terms = [t for t in all_terms
                   if t not in given_terms and not (len(t) >= 5 and t[:5] in given_stems)]
    # A quote (the claim word for word in the passage) stands as the document's own words, even
    # when the question already says all of them (a title asked about).
    if not claim_terms and _word_run(claim) in _word_run(passage_text):
        claim_terms = all_terms
    passage_terms = set(tokenize(passage_text))
    recall = weighted_recall(claim_terms, passage_terms, idf)
    if len(sentences):
        sims = sentence_vectors @ claim_vector
        best_i = int(np.argmax(sims))
        similarity, best = float(sims[best_i]), sentences[best_i]
    else:
        similarity, best = 0.0, None
    score = 0.5 * recall + 0.5 * max(0.0, similarity)
    if given and not claim_terms:
        return Support(False, score, recall, similarity, best, "says nothing the question does not")
    gap = _fact_gaps(claim, passage_text, given)
    if gap:
        return Support(False, score, recall, similarity, best, gap)
    if fragment:
        # A bare answer ("90 minutes") has too few words to mean much to the encoder: every word
        # it adds to the question must be in the passage.
        if recall < 1.0:
            return Support(False, score, recall, similarity, best,
                           f"not all its words are there ({recall:.2f})")
        return Support(True, score, recall, similarity, best, "")
    if recall < min_recall:
        return Support(False, score, recall, similarity, best, f"few of its words are there ({recall:.2f})")
    if score < min_score:
        return Support(False, score, recall, similarity, best, f"weak match ({score:.2f})")
    return Support(True, score, recall, similarity, best, "")


# Sentences this close (in characters of the document) with nothing between them are neighbours.
NEIGHBOUR_GAP = 40


def _placement(
    sentences: Sequence[SentenceEvidence], documents: Sequence[str], starts: Sequence[int]
) -> list[tuple[str, int, int]]:
    """Each sentence's (document, start, end) in its document."""
    return [(documents[s.passage], starts[s.passage] + s.start, starts[s.passage] + s.end)
            for s in sentences]


def _adjacency(place: Sequence[tuple[str, int, int]]) -> tuple[dict[int, int], dict[int, int]]:
    """Index maps sentence → the sentence just before / after it in the same document."""
    placed: dict[str, list[tuple[int, int, int]]] = {}
    for j, (doc, start, end) in enumerate(place):
        placed.setdefault(doc, []).append((start, end, j))
    before: dict[int, int] = {}
    after: dict[int, int] = {}
    for spans in placed.values():
        spans.sort()
        for (_, end_a, a), (start_b, _, b) in itertools.pairwise(spans):
            # Overlapping chunks repeat a sentence: the copy is not its own neighbour.
            if 0 <= start_b - end_a <= NEIGHBOUR_GAP:
                before[b] = a
                after[a] = b
    return before, after


class EvidenceContext:
    """The passages given for one question, split into sentences and embedded once."""

    def __init__(
        self, question: str, passages: Sequence[Passage | str], encode: Encode, idf: Idf
    ) -> None:
        """Retrieved passages carry their document, offset, date and title, so that sentences
        can be placed in their document (a sentence's neighbour may sit in another retrieved
        chunk); a bare text (an answer's slot being re-checked) is a document of its own."""
        given = [Passage(source="", doc_id=f"passage-{i}", start=0, end=len(p), text=p, score=0.0)
                 if isinstance(p, str) else p for i, p in enumerate(passages)]
        self.passages = [p.text for p in given]
        self.dates = [p.date for p in given]
        self.titles = [p.title for p in given]
        self._documents = [p.doc_id for p in given]
        self.encode = encode
        self.idf = idf
        self.untrusted, self.sentences, self._rank = trusted_evidence(
            self.passages, [p.line_offset for p in given])
        self._place = _placement(self.sentences, self._documents, [p.start for p in given])
        self._before, self._after = _adjacency(self._place)
        # Scored with cable abbreviations spelt out (qa/glossary.py); quoted as written.
        texts = [question] + [spell_out(s.text) for s in self.sentences]
        vectors = encode(texts)
        self.question_vector = vectors[0]
        self.sentence_vectors = vectors[1:]
        self.question_terms = question_terms(question)
        self.question = question

    def of_passage(self, i: int) -> tuple[list[SentenceEvidence], np.ndarray]:
        idx = [j for j, s in enumerate(self.sentences) if s.passage == i]
        return [self.sentences[j] for j in idx], self.sentence_vectors[idx]

    def support(self, claim: str, passage: int, claim_vector: np.ndarray, *,
                fragment: bool = False) -> Support:
        if self.untrusted[passage]:
            return Support(False, 0.0, 0.0, 0.0, None,
                           f"passage not trusted as evidence: {self.untrusted[passage]}")
        sentences, vectors = self.of_passage(passage)
        return check_support(
            claim, self.passages[passage], sentences, vectors, claim_vector, self.idf,
            given=self.question, fragment=fragment,
        )

    def relevance(self, text: str, vector: np.ndarray, context: str = "") -> float:
        """How well a sentence answers the question: meaning plus rare question words, where the
        sentence before may supply words the sentence leaves implicit (a headline, "that year")."""
        own = set(tokenize(spell_out(text)))
        recall = weighted_recall(self.question_terms, own, self.idf)
        if context:
            with_context = own | set(tokenize(spell_out(context)))
            recall = max(recall, 0.8 * weighted_recall(self.question_terms, with_context, self.idf))
        return 0.55 * float(vector @ self.question_vector) + 0.45 * recall

    def document_text(self, i: int) -> str:
        """What these passages show of passage i's document: its title and every given passage of
        it (a later chunk of a cable on Iranian banks may name the banks, not Iran)."""
        doc = self._documents[i]
        parts = [p for p, d in zip(self.passages, self._documents, strict=True) if d == doc]
        return "\n".join([self.titles[i], *parts])

    def document_of(self, sentence: SentenceEvidence) -> str:
        return self._documents[sentence.passage]

    def previous_of(self, sentence: SentenceEvidence) -> SentenceEvidence | None:
        return self.previous(self.sentences.index(sentence))

    def previous(self, j: int) -> SentenceEvidence | None:
        """The sentence just before sentence j in its document, if it is among these passages."""
        i = self._before.get(j)
        return self.sentences[i] if i is not None else None

    def earlier_in_document(self, sentence: SentenceEvidence) -> list[SentenceEvidence]:
        """The sentences of these passages that come before `sentence` in its document, nearest
        first (the passages may skip parts of the document in between)."""
        doc, at, _ = self._place[self.sentences.index(sentence)]
        earlier = sorted(((start, j) for j, (d, start, _) in enumerate(self._place)
                          if d == doc and start < at), reverse=True)
        return [self.sentences[j] for _, j in earlier]

    def following(self, sentence: SentenceEvidence) -> SentenceEvidence | None:
        i = self._after.get(self.sentences.index(sentence))
        return self.sentences[i] if i is not None else None

    def ranked_sentences(self) -> list[tuple[float, SentenceEvidence]]:
        scored = []
        for j, (s, v) in enumerate(zip(self.sentences, self.sentence_vectors, strict=True)):
            prev = self.previous(j)
            # Ties go to the better-ranked passage; untrusted passages take no rank, so planting
            # one above a real passage cannot reorder the real ones.
            score = self.relevance(s.text, v, prev.text if prev else "") - 0.01 * self._rank[s.passage]
            scored.append((score, s))
        return sorted(scored, key=lambda pair: -pair[0])
