"""Gathering for open questions: the distinct points the passages make about the question.

A factoid wants the one best sentence; "Which companies…", "Summarize…" or "Compare A and B"
want every sentence that adds a point, from as many documents as make one. The gatherer ranks
the sentences of a larger pool of passages by relevance (the evidence engine's score), then picks
points by maximal marginal relevance: each next point is the most relevant sentence that is not
close in meaning to one already picked, with a cap per document so one long cable cannot fill
the answer. The points are exact quotes: the extractive answer, the quote shown at once, and
what the LLM is given to read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from index.models import Passage

from .answer_type import expected_type, satisfies
from .candidates import AbstainPolicy
from .evidence import EvidenceContext, SentenceEvidence, is_heading, tokenize
from .open_questions import OpenKind, definition_subject, singular_question
from .verify import KeptSentence, repeats
from .wordlists import entries

_WORD = re.compile(r"[\w'-]+")
# A name in a question: a capitalised word after the first, or a code with a digit ("QW-1").
_NAME = re.compile(r"(?<=\s)[A-Z][\w'’.-]*\w|\b[A-Z]+-?\d[\w-]*")


_CALENDAR = frozenset(w.lower() for name in ("month_names.txt", "month_abbreviations.txt",
                                             "weekdays.txt") for w in entries(name))


def unknown_names(question: str, known: Callable[[str], bool]) -> list[str]:
    """The names in the question that no document of the collection holds: "What is Zhuhai
    Zhenrong?" asked of a collection that never mentions it. Such a question is about something
    the documents do not cover, however close the retrieved passages come in meaning."""
    out = []
    for name in dict.fromkeys(m.group(0) for m in _NAME.finditer(question)):
        if name.lower().rstrip(".") in _CALENDAR:  # "in March 1987" dates the question, names nothing
            continue
        tokens = [t for t in tokenize(name) if len(t) > 2]
        if tokens and not any(known(t) for t in tokens):
            out.append(name)
    return out


@dataclass(frozen=True, slots=True)
class GatherConfig:
    max_points: int = 5
    # A point must score at least this share of the best sentence's relevance.
    min_share: float = 0.75
    # How much a point's closeness to the points already picked counts against it (MMR).
    diversity: float = 0.3
    # Above this cosine similarity to a picked point, a sentence says the same thing again.
    duplicate_cosine: float = 0.88
    per_document: int = 2
    min_words: int = 5
    # Added to the relevance of a sentence that holds the kind of thing a list asks for (a
    # name, for "which companies…"): list items rarely repeat the question's words.
    list_item_bonus: float = 0.08
    # What the LLM is given to read: more sentences, less relevant ones too, since the model
    # tells a list item from a topical sentence better than the relevance score does.
    read_sentences: int = 12
    read_min_share: float = 0.5
    read_per_document: int = 4


@dataclass(slots=True)
class OpenReading:
    kind: OpenKind
    passages: list[Passage]
    ctx: EvidenceContext
    points: list[KeptSentence]
    why: str = ""
    # The sentences the LLM reads (the points among them), in reading order.
    read: list[KeptSentence] = field(default_factory=list)

    @property
    def declined(self) -> bool:
        return not self.points

    @property
    def read_passages(self) -> list[int]:
        """Indices of the passages the model reads, in reading order (its [n] numbers these)."""
        return list(dict.fromkeys(p.passages[0] for p in self.read))


class Gatherer:
    def __init__(self, policy: AbstainPolicy, config: GatherConfig | None = None,
                 known: Callable[[str], bool] | None = None) -> None:
        self.policy = policy
        self.config = config or GatherConfig()
        # Whether the collection holds a (tokenized) term; None: not checked.
        self.known = known

    def run(self, kind: OpenKind, ctx: EvidenceContext, passages: Sequence[Passage],
            seeds: Sequence[tuple[str, int]] = ()) -> OpenReading:
        """`seeds` are sentences that must be points, as (chunk id, offset in the chunk): the
        evidence engine's quote for the question taken as a factoid, so that a "which…" or "why…"
        question that has one answer still gets it first."""
        passages = list(passages)
        missing = unknown_names(ctx.question, self.known) if self.known else []
        if missing:
            return OpenReading(kind, passages, ctx, [],
                               f"the documents never mention {', '.join(missing)}")
        scored = ctx.ranked_sentences()
        ranked = [(score, s) for score, s in scored if self._usable(s, ctx)]
        wanted = set(seeds)
        seeded = [_kept(s, score) for score, s in scored
                  if (passages[s.passage].chunk_id, s.start) in wanted]
        if not ranked and not seeded:
            return OpenReading(kind, passages, ctx, [], "no sentence retrieved")
        if not ranked:
            return OpenReading(kind, passages, ctx, seeded, "", seeded)
        if kind == OpenKind.LIST:
            ranked = self._list_items_first(ranked, ctx.question)
        best = ranked[0][0]
        similarity = float(np.max(ctx.sentence_vectors @ ctx.question_vector))
        weak = best < self.policy.min_relevance or similarity < self.policy.min_similarity
        named = kind == OpenKind.DEFINITION and self._names_subject(ranked, ctx.question)
        if weak and not seeded and not named:
            # "What is the QW-1?" is short and matches little in meaning; that a sentence names
            # the subject is what says the passages are about it.
            return OpenReading(kind, passages, ctx, [], "the passages are off the question's topic")
        cfg = self.config
        # A definition is about one thing: its best document may give every point.
        per_document = cfg.max_points if kind == OpenKind.DEFINITION else cfg.per_document
        leaders: list[KeptSentence] = []
        if kind == OpenKind.COMPARE:
            # A comparison needs each side: the best sentence of each of the two best documents.
            seen: dict[str, tuple[float, SentenceEvidence]] = {}
            for score, sent in ranked:
                seen.setdefault(passages[sent.passage].doc_id, (score, sent))
            leaders = [_kept(sent, score) for score, sent in list(seen.values())[:2]]
        points = self._pick(ranked, ctx, passages, cfg.max_points, cfg.min_share, per_document,
                            first=[*seeded, *leaders])
        read = self._pick(ranked, ctx, passages, cfg.read_sentences, cfg.read_min_share,
                          max(per_document, cfg.read_per_document), first=points)
        return OpenReading(kind, passages, ctx, points, "" if points else "no sentence answers", read)

    def _usable(self, s: SentenceEvidence, ctx: EvidenceContext) -> bool:
        text = s.text.strip()
        # A document's title line names the subject and makes no point of its own.
        title = " ".join(ctx.titles[s.passage].split())
        return (len(_WORD.findall(text)) >= self.config.min_words and not is_heading(text)
                and not (title and " ".join(text.split()) == title))

    def _list_items_first(self, ranked: list[tuple[float, SentenceEvidence]],
                          question: str) -> list[tuple[float, SentenceEvidence]]:
        asked = singular_question(question)
        kind = expected_type(asked)
        if kind is None:
            return ranked
        bonus = self.config.list_item_bonus
        scored = [(score + bonus if satisfies(kind, s.text, asked) else score, s) for score, s in ranked]
        return sorted(scored, key=lambda pair: -pair[0])

    @staticmethod
    def _names_subject(ranked: list[tuple[float, SentenceEvidence]], question: str) -> bool:
        subject = definition_subject(question)
        words = {w for w in tokenize(subject)} if subject else set()
        return bool(words) and any(words <= set(tokenize(s.text)) for _, s in ranked)

    def _pick(self, ranked: list[tuple[float, SentenceEvidence]], ctx: EvidenceContext,
              passages: list[Passage], most: int, min_share: float, per_document: int,
              first: Sequence[KeptSentence] = ()) -> list[KeptSentence]:
        """Up to `most` sentences scoring at least `min_share` of the best, by maximal marginal
        relevance, `first` taken before any other; at most `per_document` from one document
        while other documents have sentences left above the floor."""
        cfg = self.config
        index = {id(s): j for j, s in enumerate(ctx.sentences)}
        floor = min_share * ranked[0][0]
        firsts = {id(e): (k.relevance, e) for k in first for e in k.evidence.values() if e}
        given = set(firsts)
        chosen = list(firsts.values())  # a seed may also lead its document: taken once
        chosen_vectors = [ctx.sentence_vectors[index[id(s)]] for _, s in chosen]
        per_doc: dict[str, int] = {}
        for _, s in chosen:
            per_doc[passages[s.passage].doc_id] = per_doc.get(passages[s.passage].doc_id, 0) + 1
        pool = [(score, s) for score, s in ranked if score >= floor and id(s) not in given]
        cap = per_document
        while pool and len(chosen) < most:
            best_j, best_value = -1, -np.inf
            for j, (score, s) in enumerate(pool):
                if per_doc.get(passages[s.passage].doc_id, 0) >= cap:
                    continue
                v = ctx.sentence_vectors[index[id(s)]]
                closeness = max((float(v @ c) for c in chosen_vectors), default=0.0)
                value = score - cfg.diversity * closeness
                if value > best_value:
                    best_j, best_value = j, value
            if best_j < 0:
                if cap > most:
                    break
                # Every document has given its share: the rest of the points may come from any
                # (a news story listing six banks is one document).
                cap = most + 1
                continue
            score, s = pool.pop(best_j)
            v = ctx.sentence_vectors[index[id(s)]]
            if any(float(v @ c) >= cfg.duplicate_cosine for c in chosen_vectors) or any(
                    repeats(s.text, c.text) or repeats(c.text, s.text) for _, c in chosen):
                continue
            chosen.append((score, s))
            chosen_vectors.append(v)
            doc = passages[s.passage].doc_id
            per_doc[doc] = per_doc.get(doc, 0) + 1
        # Read in document order within each document, documents in order of their best point.
        first: dict[str, int] = {}
        for rank, (_, s) in enumerate(chosen):
            first.setdefault(passages[s.passage].doc_id, rank)
        chosen.sort(key=lambda pair: (first[passages[pair[1].passage].doc_id],
                                      passages[pair[1].passage].start + pair[1].start))
        return [_kept(s, score) for score, s in chosen]


def _kept(s: SentenceEvidence, score: float) -> KeptSentence:
    # Verbatim: a quote must match the source exactly so that a reader can find it.
    return KeptSentence(text=s.text.strip(), passages=[s.passage], evidence={s.passage: s},
                        relevance=score)
