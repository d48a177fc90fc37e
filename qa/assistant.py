"""The answering pipeline: question → passages → draft → verified answer (or an abstention).

`Assistant` is the library entry point for the CLI, the UI and the eval suite.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.settings import Settings
from index.embedder import Embedder, make_embedder
from index.models import Passage
from index.reader import IndexReader

from .candidates import AbstainPolicy
from .composer import Decision, ReadAndCheck, RulesFirst, wants_committed
from .condense import condense
from .evidence import EvidenceContext, SentenceEvidence, citations_in
from .gather import GatherConfig, Gatherer
from .injection import trusted_search
from .judge import Judge, can_judge
from .llm import LLM, make_llm
from .models import Answer, Citation, SentenceCheck, Turn
from .open_questions import OpenKind, open_kind
from .open_reader import OpenLLMReader, compose_open
from .prompting import NOT_FOUND, READER_SYSTEM, SYSTEM
from .readers import LLMReader, LLMReading, RuleReader, RuleReading, own_words
from .verify import render, verify_draft

ABSTAIN_TEXT = "The documents do not contain the answer to this question."


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """`kind` is "quote" (the evidence engine's quote, shown while the LLM reads: `answer` set,
    provisional), "token" (a piece of the LLM's unverified draft, `text` set: for timing and
    debugging, not for display) or "answer" (`answer` set, final)."""

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
        kind = (open_kind(own_words(question)) or open_kind(standalone)
                if self.settings.open_questions else None)
        if kind is not None:
            yield from self._ask_open(question, standalone, kind, k, doc_ids, t0)
            return
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

        rules = self._rule_reader().run(question, standalone, passages)
        if rules.quotes:
            text, citations = render(rules.quotes, rules.passages)
            yield StreamEvent("quote", answer=base.model_copy(update={
                "answer": text, "abstained": False, "citations": citations, "mode": "quote",
                "reader": "rules", "timings_ms": {**timings,
                                                  "quote": (time.perf_counter() - t0) * 1000}}))

        judging = llm is not None and self.verify and self.settings.llm_judge and can_judge(llm)
        # Without a judge the rules decide whether to answer, so a declined question costs no
        # generation; with one, the model reads unless the passages are off the topic entirely.
        skip = rules.off_topic if judging else rules.declined
        read = llm is not None and (not self.verify or not skip)
        reading: LLMReading | None = None
        committed: LLMReading | None = None
        reader: LLMReader | None = None
        t_gen = time.perf_counter()
        if read:
            assert llm is not None
            reader = self._llm_reader(llm, judging)
            again = reader.committed_reader() if judging and self.verify else None
            reading = yield from self._weighed_reading(reader, again, standalone, rules)
            if again is not None and wants_committed(rules, reading):
                # The model declined where the rules have an answer: its best answer anyway, for
                # the composer to weigh against the quote (qa/composer.py).
                committed = yield from self._drafted(again, standalone, rules)
        timings["generate"] = (time.perf_counter() - t_gen) * 1000

        if not self.verify:
            answer = self._unverified(base, rules.passages[: self.settings.llm_context_passages],
                                      reading.draft if reading else "")
        else:
            t_judge = time.perf_counter()
            if judging and reading is not None:
                assert llm is not None and reader is not None
                judge = Judge(llm)  # type: ignore[arg-type]
                # The passages exactly as the reader showed them: the judge's prompt extends its.
                prompt_passages = reader.prompt_passages(rules)
                decision = ReadAndCheck(
                    llm_min=self.settings.judge_min, quote_min=self.settings.judge_min,
                    quote_after_decline_min=self.settings.judge_quote_after_decline_min).run(
                    question, rules, reading,
                    lambda claim: judge.run(standalone, prompt_passages, claim), committed)
            else:
                decision = RulesFirst().run(question, rules, reading)
            timings["judge"] = (time.perf_counter() - t_judge) * 1000
            answer = self._compose(base, rules, reading, decision, committed)
        timings["total"] = (time.perf_counter() - t0) * 1000
        answer.timings_ms = timings
        yield StreamEvent("answer", answer=answer)

    def _ask_open(self, question: str, standalone: str, kind: OpenKind, k: int | None,
                  doc_ids: Sequence[str] | None, t0: float) -> Iterator[StreamEvent]:
        """An open question: gather distinct points from more passages (qa/gather.py), show them
        as quotes at once, let the model write them up (qa/open_reader.py), verify each sentence."""
        s = self.settings
        # Breadth, not depth: no lift for the leading document's other chunks (document_weight),
        # which would fill the pool with one document's chunks.
        broad = s.model_copy(update={"document_weight": 0.0})
        passages = trusted_search(self.reader, broad, standalone, max(k or 0, s.open_passages), doc_ids)
        passages += self._neighbours(passages[: s.open_passages // 2], passages)
        timings = {"retrieve": (time.perf_counter() - t0) * 1000}
        llm = self.llm
        base = Answer(question=question, answer="", abstained=True,
                      backend=llm.name if llm is not None else "extractive",
                      standalone_question=standalone, open_kind=str(kind))
        if not passages:
            timings.update(generate=0.0, total=(time.perf_counter() - t0) * 1000)
            yield StreamEvent("answer", answer=base.model_copy(update={
                "answer": ABSTAIN_TEXT, "mode": "abstained", "reader": "none",
                "why": "nothing retrieved", "timings_ms": timings}))
            return
        # The question read as a factoid too, on the pool's best k passages: a "which…" or
        # "why…" question with one answer gets that answer as its first point.
        rules = self._rule_reader().run(question, standalone, passages[: k or s.k])
        seeds = [(rules.passages[i].chunk_id, ev.start) for q in rules.quotes
                 for i, ev in q.evidence.items() if ev]
        gatherer = Gatherer(AbstainPolicy(s.abstain_strictness), GatherConfig(
            max_points=s.open_points, per_document=s.open_per_document),
            known=self.reader.keyword_index().knows)
        reading = gatherer.run(kind, self._context(standalone, passages), passages, seeds)
        if reading.points:
            text, citations = render(reading.points, reading.passages, bullets=True)
            yield StreamEvent("quote", answer=base.model_copy(update={
                "answer": text, "abstained": False, "citations": citations, "mode": "quote",
                "reader": "rules", "timings_ms": {**timings,
                                                  "quote": (time.perf_counter() - t0) * 1000}}))
        t_gen = time.perf_counter()
        llm_reading: LLMReading | None = None
        reader = OpenLLMReader(llm, max_tokens=s.open_max_tokens) if llm is not None else None
        if reader is not None and not reading.declined:
            llm_reading = yield from self._drafted(reader, standalone, reading)
        timings["generate"] = (time.perf_counter() - t_gen) * 1000
        if not self.verify:
            given = reader.prompt_passages(reading) if reader is not None else []
            answer = self._unverified(base, given, llm_reading.draft if llm_reading else "")
        else:
            decision = compose_open(reading, llm_reading, add_quotes=s.open_add_quotes)
            quotes = render(reading.points, reading.passages, bullets=True)[0] if reading.points else ""
            kept = llm_reading.kept if llm_reading else []
            common = {
                "draft": llm_reading.draft if llm_reading else "",
                "checks": llm_reading.checks if llm_reading else [],
                "reader": decision.reader, "why": decision.why,
                "readings": {
                    "rules": {"answer": quotes, "declined": reading.declined, "why": reading.why,
                              "kind": str(kind)},
                    "llm": None if llm_reading is None else {
                        "answer": render(kept, reading.passages, bullets=True)[0] if kept else "",
                        "declined": llm_reading.declined, "draft": llm_reading.draft}},
            }
            if decision.sentences:
                text, citations = render(decision.sentences, reading.passages, bullets=True)
                answer = base.model_copy(update={"answer": text, "abstained": False,
                                                 "citations": citations, "mode": decision.mode,
                                                 **common})
            else:
                answer = base.model_copy(update={"answer": ABSTAIN_TEXT, "mode": "abstained",
                                                 "closest": passages[:3], **common})
        timings["total"] = (time.perf_counter() - t0) * 1000
        answer.timings_ms = timings
        yield StreamEvent("answer", answer=answer)

    def _weighed_reading(self, reader: LLMReader, again: LLMReader | None, question: str,
                         rules: RuleReading) -> Generator[StreamEvent, None, LLMReading]:
        """The model's reading. Where its first token can be weighed (DOSSIER_LLM_DECLINE_MIN),
        it declines only when NOT IN DOCUMENTS is that likely, and otherwise answers with that
        reply banned: a decline is one way to start a reply, an answer many."""
        bar = self.settings.llm_decline_min
        weight = reader.decline_weight(question, rules) if again is not None and bar is not None else None
        if weight is None:
            return (yield from self._drafted(reader, question, rules))
        if weight >= bar:
            return LLMReading(draft=NOT_FOUND, declined=True, decline_weight=weight)
        assert again is not None
        reading = yield from self._drafted(again, question, rules)
        reading.decline_weight = weight
        return reading

    def _drafted(self, reader: LLMReader | OpenLLMReader, question: str,
                 given: Any) -> Generator[StreamEvent, None, LLMReading]:
        """The model's draft streamed as token events, then checked (unless verification is off)."""
        draft = ""
        for piece in reader.stream(question, given):
            draft += piece
            yield StreamEvent("token", text=piece)
        return reader.check(draft, given) if self.verify else LLMReading(draft, False)

    def _neighbours(self, passages: Sequence[Passage], pool: Sequence[Passage]) -> list[Passage]:
        """The chunks on either side of these, not already in the pool: a document that makes one
        point of a list or a summary often makes the next in the following paragraph, which the
        question may not match."""
        have = {p.chunk_id for p in pool}
        out = []
        for p in passages:
            for step in (-1, 1):
                near = self.reader.adjacent(p, step)
                if near is not None and near.chunk_id not in have:
                    have.add(near.chunk_id)
                    out.append(near)
        return out

    def _rule_reader(self) -> RuleReader:
        return RuleReader(AbstainPolicy(self.settings.abstain_strictness), self._context,
                          self._edge_chunks)

    def _sentences(self, judging: bool) -> int:
        configured = self.settings.llm_passage_sentences
        return configured if configured is not None else (3 if judging else 1)

    def _llm_reader(self, llm: LLM, judging: bool) -> LLMReader:
        return LLMReader(llm, passages=self.settings.llm_context_passages,
                         sentences=self._sentences(judging), max_tokens=self.settings.llm_max_tokens,
                         system=READER_SYSTEM if judging else SYSTEM, bare_answers=judging)

    def _compose(self, base: Answer, rules: RuleReading, reading: LLMReading | None,
                 decision: Decision, committed: LLMReading | None = None) -> Answer:
        quote_text = render(rules.quotes, rules.passages)[0] if rules.quotes else ""
        llm_text = render(reading.kept, rules.passages)[0] if reading and reading.kept else ""
        readings = {
            "rules": {"answer": quote_text, "declined": rules.declined, "why": rules.why,
                      "kind": rules.kind or ""},
            "llm": None if reading is None else {
                "answer": llm_text, "declined": reading.declined, "draft": reading.draft,
                **({"decline_weight": round(reading.decline_weight, 3)}
                   if reading.decline_weight is not None else {})},
        }
        if committed is not None:
            readings["committed"] = {
                "answer": render(committed.kept, rules.passages)[0] if committed.kept else "",
                "declined": committed.declined, "draft": committed.draft}
        common = {"draft": reading.draft if reading else "", "checks": reading.checks if reading else [],
                  "reader": decision.reader, "why": decision.why, "readings": readings,
                  "judgements": decision.judgements}
        if not decision.sentences:
            return base.model_copy(update={"answer": ABSTAIN_TEXT, "mode": "abstained",
                                           "closest": rules.passages[:3], **common})
        text, citations = render(decision.sentences, rules.passages)
        return base.model_copy(update={"answer": text, "abstained": False, "citations": citations,
                                       "mode": decision.mode, **common})

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

    def check_answer(self, answer: Answer) -> list[SentenceCheck]:
        """Re-check a finished answer's sentences against the passages they cite (no repair):
        how the eval suite measures sentence support for any backend, verified or not."""
        if answer.abstained or not answer.answer.strip():
            return []
        by_n = {c.n: c.passage for c in answer.citations}
        slots = [by_n[n].text if n in by_n else "" for n in range(1, max(by_n, default=0) + 1)]
        ctx = self._context(answer.standalone_question or answer.question, slots)
        return verify_draft(answer.answer, ctx, repair=False, bare_answers=True,
                            names=bool(answer.open_kind)).checks

    def _unverified(self, base: Answer, given: list[Passage], draft: str) -> Answer:
        cited = [n for n in dict.fromkeys(citations_in(draft)) if 1 <= n <= len(given)]
        abstained = not draft.strip() or NOT_FOUND in draft.upper()
        return base.model_copy(update={
            "answer": ABSTAIN_TEXT if abstained else draft.strip(),
            "abstained": abstained,
            "citations": [Citation(n=n, passage=given[n - 1], supported=False) for n in cited],
            "mode": "unverified",
            "draft": draft,
        })


