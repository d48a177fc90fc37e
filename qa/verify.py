"""draft answer → verified answer.

The draft is split into sentences. Each sentence must cite passages that were actually given
and be supported by one of them (see `evidence.check_support`). A supported sentence whose
citation is missing or wrong gets the right one attached; an unsupported sentence is dropped.
Citations are then renumbered in order of first use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.models import Passage
from index.screening import has_active_markup, injection_reason
from index.sentences import split_sentences

from .evidence import (
    NEIGHBOUR_GAP,
    EvidenceContext,
    SentenceEvidence,
    citations_in,
    is_heading,
    strip_citations,
)
from .models import Citation, SentenceCheck
from .prompting import FENCE_TAG


@dataclass(slots=True)
class KeptSentence:
    text: str  # without markers
    passages: list[int]  # indices into the passages given (0-based)
    evidence: dict[int, SentenceEvidence | None] = field(default_factory=dict)
    relevance: float = 0.0


@dataclass(slots=True)
class Verified:
    sentences: list[KeptSentence]
    checks: list[SentenceCheck]

    @property
    def relevance(self) -> float:
        return max((s.relevance for s in self.sentences), default=0.0)


_LEADING_MARKS = re.compile(r"^((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)\s*")


# What a small model echoes from its prompt: whole fenced passages (to the end of the draft when
# the copy was cut off), stray fence tags, and lead-in lines ("The answer is:", "The passage with
# the citations is:") that introduce a copy rather than state a fact. A copied passage is not the
# model's claim: verified sentence by sentence it would pass (it is verbatim) and turn the answer
# into a dump of the prompt, relevant or not.
_ECHOED_PASSAGE = re.compile(r"<\s*passage\b[^<>]*>.*?(?:<\s*/\s*passage\s*>|$)", re.I | re.S)
_LEAD_IN = re.compile(r"^[^\n]*:[ \t]*$", re.M)


def _pieces(draft: str) -> list[str]:
    """Sentences of the draft. Markers belong to the sentence before them: a sentence that ends
    in a closing quote ('…destruction.” [1] Next…') leaves its marker at the start of the next."""
    draft = _LEAD_IN.sub("", FENCE_TAG.sub("\n", _ECHOED_PASSAGE.sub("\n", draft)))
    out: list[str] = []
    for sentence in split_sentences(draft):
        lead = _LEADING_MARKS.match(sentence)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group(1).strip()}"
            sentence = sentence[lead.end():]
        if sentence.strip():
            out.append(sentence)
    return out


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "


def repeats(text: str, said: str) -> bool:
    """Does this sentence say no more than one already said: the same words, or some of them in
    a row? A small model repeats itself, and overlapping chunks repeat sentences."""
    return _words(text) in _words(said)


def _not_a_claim(claim: str, *, name_ok: bool = False) -> str:
    """A draft sentence that carries markup or instructions is dropped whatever it cites: it is
    what an obeyed injection looks like, and no passage can make it a fact. `name_ok`: a
    title-case name is an item of a list, not a heading."""
    if has_active_markup(claim):
        return "holds HTML or script, not a claim"
    if not name_ok and is_heading(strip_citations(claim)):
        return "a heading, not a claim"
    reason = injection_reason(claim)
    return f"reads as instructions, not a claim ({reason})" if reason else ""


# A small model's preamble ("The answer is: …", "The passage: \"…\"") is not part of the claim.
_PREAMBLE = re.compile(r"^\s*(?:(?:the )?(?:answer|passage)(?: is)?|according to the passages?(?: \[\d+\])?)"
                       r"\s*[:,]\s*", re.I)


def verify_draft(draft: str, ctx: EvidenceContext, *, repair: bool = True,
                 bare_answers: bool = False, names: bool = False) -> Verified:
    """Each sentence of the draft checked against the passages it cites. `bare_answers`: a cited
    bare answer ("90 minutes [1]") may stand; `names` (a list's items): so may a cited name of up
    to six words ("Chase Manhattan Corp [1]") — each only when all its words are in the passage."""
    pieces = [p for p in _pieces(draft) if strip_citations(p)]
    claims = [_LIST_MARK.sub("", _PREAMBLE.sub("", strip_citations(p)).strip()) for p in pieces]
    vectors = ctx.encode(claims) if claims else []
    kept: list[KeptSentence] = []
    checks: list[SentenceCheck] = []
    n_given = len(ctx.passages)
    for piece, claim, vector in zip(pieces, claims, vectors, strict=True):
        cited = citations_in(piece)
        valid = [n - 1 for n in dict.fromkeys(cited) if 1 <= n <= n_given]
        # A bare answer to the question ("90 minutes [1]") is a claim when it is cited and each of
        # its words is in the passage; an uncited scrap ("Passage [1]" with nothing) is not.
        name = names and bool(valid) and len(claim.split()) <= 6 and is_heading(claim)
        fragment = len(claim.split()) < 3 or name
        if fragment and (not bare_answers or not valid or not any(ch.isalnum() for ch in claim)):
            checks.append(SentenceCheck(text=claim, cited=cited, supported=False, score=0.0,
                                        reason="fragment, not a claim"))
            continue
        refused = _not_a_claim(claim, name_ok=name)
        if not refused and any(repeats(claim, k.text) for k in kept):
            refused = "repeats an earlier sentence"
        if refused:
            checks.append(SentenceCheck(text=claim, cited=cited, supported=False, score=0.0,
                                        reason=refused))
            continue
        results = {i: ctx.support(claim, i, vector, fragment=fragment) for i in valid}
        supporting = [i for i, r in results.items() if r.supported]
        reason = "" if supporting else "; ".join(r.reason for r in results.values()) or "no citation"
        if not supporting and repair:
            # Repair: a true sentence with a missing or wrong marker gets the passage that holds it.
            others = {i: ctx.support(claim, i, vector, fragment=fragment)
                      for i in range(n_given) if i not in results}
            best = max(others.items(), key=lambda kv: kv[1].score, default=None)
            if best is not None and best[1].supported:
                supporting, results = [best[0]], {**results, best[0]: best[1]}
                reason = f"citation repaired to [{best[0] + 1}]"
        score = max((r.score for r in results.values()), default=0.0)
        checks.append(SentenceCheck(text=claim, cited=cited, supported=bool(supporting),
                                    score=round(score, 3), reason=reason))
        if supporting:
            kept.append(KeptSentence(
                text=claim,
                passages=supporting,
                evidence={i: results[i].best for i in supporting},
                relevance=ctx.relevance(claim, vector),
            ))
    return Verified(kept, checks)


# A quoted list item's dash ("-- Provide Turkish officials…") would glue it to the sentence before.
_LIST_MARK = re.compile(r"^[-–—•*]+\s*")


_ENDS_SENTENCE = re.compile(r"[.!?][\"”’')\]]*$")


def _widen_support(
    citations: list[Citation], n: int, passage: Passage, ev: SentenceEvidence | None
) -> None:
    """A second sentence quoted from a cited passage right before or after the first widens the
    highlighted support to both (the sentence after the best one often holds the answer); a
    sentence further away leaves the first highlighted."""
    c = citations[n - 1]
    if ev is None or c.support_start is None or c.support_end is None:
        return
    start, end = passage.start + ev.start, passage.start + ev.end
    # Neighbours as the evidence context places them (`NEIGHBOUR_GAP` characters apart).
    if 0 <= start - c.support_end <= NEIGHBOUR_GAP or 0 <= c.support_start - end <= NEIGHBOUR_GAP:
        citations[n - 1] = c.model_copy(update={"support_start": min(start, c.support_start),
                                                "support_end": max(end, c.support_end)})


def render(
    sentences: list[KeptSentence], passages: list[Passage], *, bullets: bool = False
) -> tuple[str, list[Citation]]:
    """Answer text with markers renumbered 1..m in order of use, and the matching citations;
    with `bullets`, one point a line ("- …"), as an open question's points read best."""
    number: dict[int, int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    for s in sentences:
        marks = []
        for i in s.passages:
            if i in number:
                _widen_support(citations, number[i], passages[i], s.evidence.get(i))
            else:
                number[i] = len(number) + 1
                p = passages[i]
                ev = s.evidence.get(i)
                citations.append(Citation(
                    n=number[i],
                    passage=p,
                    supported=True,
                    support_start=p.start + ev.start if ev else None,
                    support_end=p.start + ev.end if ev else None,
                ))
            marks.append(f"[{number[i]}]")
        # One line: a quote from hard-wrapped text keeps the source's line breaks, which would
        # break the answer's sentences apart when it is read (or re-checked) again.
        text = _LIST_MARK.sub("", " ".join(s.text.split()))
        trail = ""
        if text and text[-1] in ".!?":
            text, trail = text[:-1], text[-1]
        elif text and text[-1] in ";:,":
            # A list item ("…via Turkey;") ends here: it must not run into the next sentence.
            text, trail = text[:-1], "."
        elif text and not _ENDS_SENTENCE.search(text):
            # A heading quoted as evidence ("SUBJECT: BRAZIL DECLINES GUANTANAMO MIGRANTS") would
            # otherwise run into the next quote and be read as one sentence with two sources.
            trail = "."
        parts.append(f"{text} {''.join(marks)}{trail}")
    if bullets:
        return "\n".join(f"- {part}" for part in parts), citations
    return " ".join(parts), citations
