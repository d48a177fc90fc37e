"""The answering pipeline: question → passages → draft → verified answer (or an abstention).

`Assistant` is the library entry point for the CLI, the UI and the eval suite.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from core.settings import Settings
from index.embedder import Embedder, make_embedder
from index.models import Passage
from index.reader import IndexReader

from .answer_type import adds_information, expected_type, satisfies
from .candidates import NEIGHBOUR_KINDS, AbstainPolicy, reason, sequel, typed_candidates
from .condense import condense
from .evidence import EvidenceContext, SentenceEvidence, citations_in, grounded, numbers
from .extractive import extractive_sentences
from .injection import trusted_search
from .llm import LLM, make_llm
from .models import Answer, Citation, SentenceCheck, Turn
from .prompting import NOT_FOUND, build_messages, focus_passages
from .verify import KeptSentence, render, verify_draft

ABSTAIN_TEXT = "The documents do not contain the answer to this question."
_LEAD = re.compile(r"^\s*(and|but|so|also|then|ok|okay)[,\s]+", re.I)


def _own_words(question: str) -> str:
    """The question without a leading conjunction ("and when was that?" → "when was that?")."""
    return _LEAD.sub("", question)


def _draft_answers(
    kept: Sequence[KeptSentence],
    candidates: Sequence[tuple[float, SentenceEvidence]],
    quotes: Sequence[KeptSentence],
    kind: str | None,
    question: str,
) -> bool:
    """Is a verified draft an answer worth showing instead of the quotes?"""
    if not kept or not candidates or not quotes:
        return False
    # A draft that survives verification but drifts off the question is not kept.
    if max(k.relevance for k in kept) < 0.8 * candidates[0][0]:
        return False
    # The sentence that answers must take its figures and names from the sentences that may
    # answer, not from elsewhere in a long passage ("2021" pinned to another sentence's event).
    allowed = " ".join([*(s.text for _, s in candidates), *(q.text for q in quotes)])
    if not any(satisfies(kind, k.text, question) and adds_information(k.text, question)
               and grounded(k.text, allowed) for k in kept):
        return False
    # And the draft must say at least what the quote would say, in other words: a 135M model's
    # answer drawn from other sentences is wrong about as often as it is right, and one that
    # restates only half of a two-sentence quote drops half the answer (eval). Other verified
    # sentences may stay as context.
    quoted = {(e.passage, e.start) for k in quotes for e in k.evidence.values() if e is not None}
    rests_on = {(e.passage, e.start) for k in kept for e in k.evidence.values() if e is not None}
    if not quoted <= rests_on:
        return False
    # Resting on the quoted sentence is not saying what it says: "the standard price … for
    # 1987/88 against 1,400 now" drops the 1,370 yen the quote gives. Every figure the quote adds
    # to the question must be in the draft.
    said = numbers(" ".join(k.text for k in kept))
    return all(n in said for q in quotes for n in numbers(q.text) - numbers(question))


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """`kind` is "token" (a piece of the draft, `text` set) or "answer" (`answer` set, final)."""

    kind: str
    text: str = ""
    answer: Answer | None = None


class Assistant:
    def __init__(
        self,
        settings: Settings,
        *,
        llm: LLM | None = None,
        embedder: Embedder | None = None,
        use_llm: bool = True,
        verify: bool = True,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        self._llm = llm
        self._llm_resolved = llm is not None or not use_llm
        self.verify = verify
        self._reader: IndexReader | None = None

    # -- pieces ---------------------------------------------------------------------------
    @property
    def reader(self) -> IndexReader:
        if self._reader is None:
            self._reader = IndexReader(self.settings, self.embedder)
        return self._reader

    @property
    def llm(self) -> LLM | None:
        if not self._llm_resolved:
            self._llm = make_llm(self.settings)
            self._llm_resolved = True
        return self._llm

    @property
    def backend(self) -> str:
        return self._llm.name if self._llm is not None else (
            self.settings.llm if not self._llm_resolved else "extractive"
        )

    def search(
        self, question: str, k: int | None = None, doc_ids: Sequence[str] | None = None
    ) -> list[Passage]:
        # Passages holding instructions to the assistant are set aside (qa/injection.py).
        return trusted_search(self.reader, self.settings, question, k, doc_ids)

    # -- answering ------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        k: int | None = None,
        history: Sequence[Turn] = (),
        doc_ids: Sequence[str] | None = None,
    ) -> Answer:
        answer: Answer | None = None
        for event in self.ask_stream(question, k, history, doc_ids):
            if event.kind == "answer":
                answer = event.answer
        assert answer is not None
        return answer

    def ask_stream(
        self,
        question: str,
        k: int | None = None,
        history: Sequence[Turn] = (),
        doc_ids: Sequence[str] | None = None,
    ) -> Iterator[StreamEvent]:
        t0 = time.perf_counter()
        standalone = condense(question, history)
        passages = self.search(standalone, k, doc_ids)
        t_retrieve = time.perf_counter()
        timings = {"retrieve": (t_retrieve - t0) * 1000}
        llm = self.llm
        backend = llm.name if llm is not None else "extractive"
        base = Answer(question=question, answer="", abstained=True, backend=backend,
                      standalone_question=standalone)

        if not passages:
            timings.update(generate=0.0, total=(time.perf_counter() - t0) * 1000)
            yield StreamEvent("answer", answer=base.model_copy(update={
                "answer": ABSTAIN_TEXT, "mode": "abstained", "timings_ms": timings}))
            return

        ctx = self._context(standalone, passages)
        policy = AbstainPolicy(self.settings.abstain_strictness)
        kind = expected_type(_own_words(question)) or expected_type(standalone)
        ranked = ctx.ranked_sentences()
        candidates = typed_candidates(ranked, kind if policy.check_type else None, question, policy, ctx)
        if not candidates and kind in NEIGHBOUR_KINDS and policy.check_type and ranked:
            # The sentence that matches may leave the date or figure to the next chunk, which
            # retrieval did not bring ("…the Jeddah oil depot in late March." | "This is the same
            # company that was attacked in 2019").
            extra = self._edge_chunks(ranked[0][1], passages)
            if extra:
                passages = passages + extra
                ctx = self._context(standalone, passages)
                ranked = ctx.ranked_sentences()
                candidates = typed_candidates(ranked, kind, question, policy, ctx)
        best_relevance = ranked[0][0] if ranked else 0.0
        best_similarity = float(np.max(ctx.sentence_vectors @ ctx.question_vector)) if ranked else 0.0
        abstain = (best_relevance < policy.min_relevance or best_similarity < policy.min_similarity
                   or not candidates)

        draft = ""
        t_gen = time.perf_counter()
        if llm is not None and not (self.verify and abstain):
            given = focus_passages(passages[: self.settings.llm_context_passages], ranked,
                                   self.settings.llm_passage_sentences)
            for piece in llm.stream(build_messages(standalone, given),
                                    max_tokens=self.settings.llm_max_tokens):
                draft += piece
                yield StreamEvent("token", text=piece)
        timings["generate"] = (time.perf_counter() - t_gen) * 1000

        answer = self._finish(base, ctx, passages, draft, llm is not None, abstain, candidates,
                              kind, question)
        timings["total"] = (time.perf_counter() - t0) * 1000
        answer.timings_ms = timings
        yield StreamEvent("answer", answer=answer)

    def _context(self, question: str, passages: Sequence[Passage | str]) -> EvidenceContext:
        return EvidenceContext(question, passages, self._encode, self.reader.keyword_index().idf)

    def _edge_chunks(self, best: SentenceEvidence, passages: Sequence[Passage]) -> list[Passage]:
        """The chunk next to the best sentence when that sentence ends or opens its chunk."""
        passage = passages[best.passage]
        have = {p.chunk_id for p in passages}
        steps = [step for step, at_edge in ((1, not passage.text[best.end:].strip()),
                                            (-1, not passage.text[: best.start].strip())) if at_edge]
        out = []
        for step in steps:
            near = self.reader.adjacent(passage, step)
            if near is not None and near.chunk_id not in have:
                out.append(near)
        return out

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        # Small batches: sentences vary in length and padding to the longest of 16 costs more
        # than the batching saves (40 sentences: 0.27 s at 4, 0.41 s at 16 on this CPU).
        return self.embedder.encode(list(texts), batch_size=4)

    def _finish(
        self,
        base: Answer,
        ctx: EvidenceContext,
        passages: list[Passage],
        draft: str,
        used_llm: bool,
        abstain: bool,
        candidates: list[tuple[float, SentenceEvidence]],
        kind: str | None,
        question: str,
    ) -> Answer:
        closest = passages[:3]
        if not self.verify:
            # The raw model, for measuring what verification is worth: markers taken at face value.
            return self._unverified(base, passages, draft)
        if abstain:
            return base.model_copy(update={"answer": ABSTAIN_TEXT, "mode": "abstained",
                                           "draft": draft, "closest": closest})
        mode = "extractive"
        checks = []
        sentences = []
        after_best = (sequel(candidates, ctx, question, kind)
                      or reason(candidates, ctx, question, kind))
        quotes = extractive_sentences(candidates, after_best)
        if used_llm and draft.strip() and NOT_FOUND not in draft.upper():
            verified = verify_draft(draft, ctx)
            checks = verified.checks
            if _draft_answers(verified.sentences, candidates, quotes, kind, question):
                sentences, mode = verified.sentences, "draft"
            else:
                mode = "fallback"
        elif used_llm:
            mode = "fallback"
        if not sentences:
            sentences = quotes
        text, citations = render(sentences, passages)
        return base.model_copy(update={
            "answer": text, "abstained": False, "citations": citations, "mode": mode,
            "draft": draft, "checks": checks,
        })

    def check_answer(self, answer: Answer) -> list[SentenceCheck]:
        """Re-check a finished answer's sentences against the passages they cite (no repair):
        how the eval suite measures sentence support for any backend, verified or not."""
        if answer.abstained or not answer.answer.strip():
            return []
        by_n = {c.n: c.passage for c in answer.citations}
        slots = [by_n[n].text if n in by_n else "" for n in range(1, max(by_n, default=0) + 1)]
        ctx = self._context(answer.standalone_question or answer.question, slots)
        return verify_draft(answer.answer, ctx, repair=False).checks

    def _unverified(self, base: Answer, passages: list[Passage], draft: str) -> Answer:
        given = passages[: self.settings.llm_context_passages]
        cited = [n for n in dict.fromkeys(citations_in(draft)) if 1 <= n <= len(given)]
        abstained = not draft.strip() or NOT_FOUND in draft.upper()
        return base.model_copy(update={
            "answer": ABSTAIN_TEXT if abstained else draft.strip(),
            "abstained": abstained,
            "citations": [Citation(n=n, passage=given[n - 1], supported=False) for n in cited],
            "mode": "unverified",
            "draft": draft,
        })


