"""An answer made only of quoted source sentences: the `extractive` backend, and the fallback
when an LLM draft fails verification. Quotes are exact, so every sentence is supported."""

from __future__ import annotations

from collections.abc import Sequence

from .evidence import SentenceEvidence
from .verify import KeptSentence, repeats


def extractive_sentences(
    ranked: Sequence[tuple[float, SentenceEvidence]],
    sequel: SentenceEvidence | None = None,
    max_sentences: int = 3,
) -> list[KeptSentence]:
    """Quote the best sentence and those that score almost as well (up to three: on the held-out
    sets a third one held the answer six times and took nothing from the others' citation
    precision); after the best one, the sentence that follows it in the document when that one
    goes on to what the question asks (`candidates.sequel`)."""
    if not ranked:
        return []
    top_score = ranked[0][0]
    chosen: list[KeptSentence] = []
    for score, s in ranked:
        if len(chosen) >= max_sentences or score < 0.9 * top_score:
            break
        if any(_overlap(s.text, c.text) for c in chosen):
            continue
        chosen.append(_quote(s, score))
    if sequel is None or any(_overlap(sequel.text, c.text) for c in chosen):
        return chosen
    # The sequel reads as part of the best sentence: it takes no runner-up's place.
    return [chosen[0], _quote(sequel, top_score), *chosen[1:]]


def _overlap(text: str, quoted: str) -> bool:
    # A cable's title comes back as its "SUBJECT:" line, and a sentence cut by a chunk edge is
    # the start of the whole one: either way round, one quote says it.
    return repeats(text, quoted) or repeats(quoted, text)


def _quote(s: SentenceEvidence, relevance: float) -> KeptSentence:
    # Verbatim: the quote must match the source exactly so a reader can find it.
    return KeptSentence(text=s.text.strip(), passages=[s.passage], evidence={s.passage: s},
                        relevance=relevance)
