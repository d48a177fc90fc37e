"""The two readers of retrieved passages.

`RuleReader` is the evidence engine: the question's answer kind, the sentences that hold an answer
of that kind, and the quote built from them — fast (well under a second), exact, and blind to
paraphrase. `LLMReader` lets a language model read the same passages and answer with [n] markers
or decline; the verifier then keeps only the sentences a cited passage supports. Each reader is a
stage testable alone (`RuleReader.run`; `LLMReader.stream` then `check`, so that the orchestrator
can pass the draft on as it comes); the composer (qa/composer.py) decides between them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from index.models import Passage

from .answer_type import expected_type
from .candidates import NEIGHBOUR_KINDS, AbstainPolicy, reason, sequel, typed_candidates
from .evidence import EvidenceContext, SentenceEvidence
from .extractive import extractive_sentences
from .llm import LLM, CanBan
from .models import SentenceCheck
from .prompting import NOT_FOUND, SYSTEM, build_messages, focus_passages
from .verify import KeptSentence, verify_draft

_LEAD = re.compile(r"^\s*(and|but|so|also|then|ok|okay)[,\s]+", re.I)


def own_words(question: str) -> str:
    """The question without a leading conjunction ("and when was that?" → "when was that?")."""
    return _LEAD.sub("", question)


ContextFactory = Callable[[str, Sequence[Passage]], EvidenceContext]
EdgeChunks = Callable[[SentenceEvidence, Sequence[Passage]], list[Passage]]


@dataclass(slots=True)
class RuleReading:
    """What the evidence engine found. `declined` says why in `why` ("" when it answers)."""

    passages: list[Passage]
    ctx: EvidenceContext
    kind: str | None
    ranked: list[tuple[float, SentenceEvidence]]
    candidates: list[tuple[float, SentenceEvidence]]
    quotes: list[KeptSentence]
    declined: bool
    why: str = ""
    # Cosine similarity of the question to its closest sentence, and that sentence's relevance
    # score: how on-topic the passages are.
    similarity: float = 0.0
    relevance: float = 0.0
    # Nothing retrieved is about the question, by both measures: no reader need try.
    off_topic: bool = False


class RuleReader:
    def __init__(self, policy: AbstainPolicy, context: ContextFactory, edge_chunks: EdgeChunks) -> None:
        self.policy = policy
        self._context = context
        self._edge_chunks = edge_chunks

    def run(self, question: str, standalone: str, passages: Sequence[Passage]) -> RuleReading:
        passages = list(passages)
        policy = self.policy
        ctx = self._context(standalone, passages)
        kind = expected_type(own_words(question)) or expected_type(standalone)
        ranked = ctx.ranked_sentences()
        check = kind if policy.check_type else None
        candidates = typed_candidates(ranked, check, question, policy, ctx)
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
        similarity = float(np.max(ctx.sentence_vectors @ ctx.question_vector)) if ranked else 0.0
        why = ""
        if not ranked:
            why = "no sentence retrieved"
        elif best_relevance < policy.min_relevance or similarity < policy.min_similarity:
            why = "the passages are off the question's topic"
        elif not candidates:
            why = f"no sentence holds the {kind} asked for" if kind else "no sentence answers"
        quotes: list[KeptSentence] = []
        if not why:
            after_best = (sequel(candidates, ctx, question, kind)
                          or reason(candidates, ctx, question, kind))
            quotes = extractive_sentences(candidates, after_best)
        return RuleReading(passages=passages, ctx=ctx, kind=kind, ranked=list(ranked),
                           candidates=candidates, quotes=quotes, declined=bool(why), why=why,
                           similarity=similarity, relevance=best_relevance,
                           off_topic=not ranked or (best_relevance < policy.min_relevance
                                                    and similarity < policy.min_similarity))


@dataclass(slots=True)
class LLMReading:
    draft: str
    declined: bool
    kept: list[KeptSentence] = field(default_factory=list)
    checks: list[SentenceCheck] = field(default_factory=list)
    # P(the reply starts NOT IN DOCUMENTS), where the reply was weighed before it was read.
    decline_weight: float | None = None


class LLMReader:
    """The LLM answers from the top passages with [n] markers, or says NOT IN DOCUMENTS; every
    sentence of its draft is then verified against the passage it cites."""

    def __init__(self, llm: LLM, *, passages: int, sentences: int, max_tokens: int,
                 system: str = SYSTEM, bare_answers: bool = False, committed: bool = False) -> None:
        self.llm = llm
        # Committed: the model may not reply NOT IN DOCUMENTS, so it gives its best answer (for a
        # backend that can ban tokens; see `committed_reader`).
        self.committed = committed
        # Whether a cited bare answer ("90 minutes [1]") may stand: where a judge will weigh it.
        self.bare_answers = bare_answers
        self.system = system
        self.passages = passages
        self.sentences = sentences
        self.max_tokens = max_tokens

    def prompt_passages(self, rules: RuleReading) -> list[Passage]:
        """The passages the model is shown, cut to their best sentences ([n] numbers these)."""
        return focus_passages(rules.passages[: self.passages], rules.ranked, self.sentences)

    def messages(self, question: str, rules: RuleReading) -> list[dict[str, str]]:
        return build_messages(question, self.prompt_passages(rules), self.system)

    def stream(self, question: str, rules: RuleReading) -> Iterator[str]:
        """The draft as the model writes it (unverified: for timing, never for display)."""
        messages = self.messages(question, rules)
        if self.committed and isinstance(self.llm, CanBan):
            yield from self.llm.stream_banning(messages, max_tokens=self.max_tokens,
                                               banned=(NOT_FOUND.split()[0],))
        else:
            yield from self.llm.stream(messages, max_tokens=self.max_tokens)

    def decline_weight(self, question: str, rules: RuleReading) -> float | None:
        """P(the model's reply starts NOT IN DOCUMENTS); None for a backend that cannot weigh
        its first token. Costs the prompt's reading, which the answer after it then reuses."""
        if not isinstance(self.llm, CanBan):
            return None
        return self.llm.first_token_share(self.messages(question, rules), (NOT_FOUND.split()[0],))

    def committed_reader(self) -> LLMReader | None:
        """The same reader with its decline taken away (same prompt, so llama.cpp reuses the
        passages it has read); None for a backend that cannot ban a reply."""
        if not isinstance(self.llm, CanBan):
            return None
        return LLMReader(self.llm, passages=self.passages, sentences=self.sentences,
                         max_tokens=self.max_tokens, system=self.system,
                         bare_answers=self.bare_answers, committed=True)

    def check(self, draft: str, rules: RuleReading) -> LLMReading:
        """The draft's sentences verified against the passages they cite."""
        if not draft.strip() or NOT_FOUND in draft.upper():
            return LLMReading(draft=draft, declined=True)
        verified = verify_draft(draft, rules.ctx, bare_answers=self.bare_answers)
        return LLMReading(draft=draft, declined=False, kept=verified.sentences, checks=verified.checks)
