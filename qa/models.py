"""Objects that cross module lines on the answering side: passages → draft → verified answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from index.models import Passage


class Citation(BaseModel):
    n: int
    passage: Passage
    supported: bool
    # The sentence of the passage that best supports the citing claim (offsets into the document).
    support_start: int | None = None
    support_end: int | None = None

    def contract(self) -> dict[str, Any]:
        out = self.passage.contract()
        out.update(n=self.n, supported=self.supported)
        if self.support_start is not None:
            out.update(support_start=self.support_start, support_end=self.support_end)
        return out


class SentenceCheck(BaseModel):
    text: str
    cited: list[int]
    supported: bool
    score: float
    reason: str = ""


class Answer(BaseModel):
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    backend: str
    timings_ms: dict[str, float] = Field(default_factory=dict)
    standalone_question: str = ""
    # How the answer was produced: "draft" (LLM, verified), "extractive", "fallback" (the LLM
    # draft failed verification and was replaced by quotes), "abstained"; "quote" on the
    # provisional answer streamed before the LLM has read.
    mode: str = ""
    draft: str = ""
    checks: list[SentenceCheck] = Field(default_factory=list)
    closest: list[Passage] = Field(default_factory=list)
    # Which reader the answer comes from: "llm" (its verified sentences), "rules" (the evidence
    # engine's quote) or "none" (declined); "why" says why it declined.
    reader: str = ""
    why: str = ""
    # Both readers' answers, whichever was chosen: {"rules": {"answer", "declined", "why", "kind"},
    # "llm": {"answer" (its verified sentences), "declined", "draft"} or None when it did not read}.
    readings: dict[str, Any] = Field(default_factory=dict)
    # The judge's P(yes) for each answer it was asked about ("llm1".., "quote").
    judgements: dict[str, float] = Field(default_factory=dict)
    # An open question's kind ("summary", "list", "compare", "definition", "why"); "" a factoid.
    open_kind: str = ""

    def contract(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.contract() for c in self.citations],
            "backend": self.backend,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "mode": self.mode,
            "draft": self.draft,
            "standalone_question": self.standalone_question,
            "closest": [p.contract() for p in self.closest],
            "reader": self.reader,
            "why": self.why,
            "readings": self.readings,
            "judgements": self.judgements,
            # Every sentence of the LLM's draft with the verifier's verdict and reason.
            "checks": [c.model_dump() for c in self.checks],
            "open_kind": self.open_kind,
        }

    def render_text(self) -> str:
        lines = [self.answer, ""]
        if self.reader == "llm":
            lines.insert(1, f"(the {self.backend} model's answer; each sentence checked against the "
                            "passage it cites)")
        elif self.reader == "rules" and self.backend != "extractive":
            lines.insert(1, "(quoted from the documents)")
        shown = self.citations if self.citations else []
        for c in shown:
            mark = "" if c.supported else "  (support not confirmed)"
            lines.append(f"[{c.n}] {c.passage.source} chars {c.passage.start}-{c.passage.end}{mark}")
            text = c.passage.text
            if c.support_start is not None and c.support_end is not None:
                # The sentence that supports the claim, not the passage's opening lines.
                text = text[c.support_start - c.passage.start: c.support_end - c.passage.start] or text
            lines.append("    " + " ".join(text.split())[:500])
        if self.abstained and self.closest:
            lines.append("Closest passages:")
            for p in self.closest:
                lines.append(f"  - {p.source} chars {p.start}-{p.end}: "
                             + " ".join(p.text.split())[:300])
        return "\n".join(lines).rstrip()

    def render_markdown(self) -> str:
        parts = [self.answer, ""]
        for c in self.citations:
            quote = " ".join(c.passage.text.split())
            parts.append(f"[{c.n}] *{c.passage.source}*, chars {c.passage.start}–{c.passage.end}: "
                         f"> {quote}")
        return "\n".join(parts).strip()


class Turn(BaseModel):
    """One exchange of a chat, as the assistant needs it for follow-up questions."""

    question: str
    standalone: str = ""
    answer: str = ""
