"""Passage-level defence against injected text, for documents that were not quarantined.

Documents holding an injection are quarantined at ingest (index/screening.py) and never reach
retrieval. This layer covers what screening at ingest cannot: quarantine switched off
(`DOSSIER_QUARANTINE=false`, for a collection that legitimately discusses prompt injection), and an
index screened by older rules. There, a passage that holds an injection is set aside before fusion
(never in the evidence, the prompt or the closest passages shown), and the evidence layer refuses
it and any sentence with active markup as support (qa/evidence.py, qa/verify.py), so neither a
draft nor an extractive quote can rest on them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from core.settings import Settings
from index.models import Passage
from index.screening import injection_reason


def is_untrusted(passage: Passage) -> bool:
    return injection_reason(passage.text) is not None


class TrustedReader:
    """An index reader whose dense and keyword candidate lists hold trusted passages only: planted
    passages are set aside before fusion, so they can neither take a real passage's place nor
    shift the ranks that fuse real passages. Everything else is the wrapped reader's."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def dense(self, question: str, k: int, *args: Any, **kwargs: Any) -> list[Passage]:
        return _trusted(self._reader.dense, question, k, args, kwargs)

    def keyword(self, question: str, k: int, *args: Any, **kwargs: Any) -> list[Passage]:
        return _trusted(self._reader.keyword, question, k, args, kwargs)


def _trusted(fetch: Callable[..., list[Passage]], question: str, k: int, args: tuple, kwargs: dict,
             rounds: int = 3) -> list[Passage]:
    """The k best trusted hits of one retriever, asking it for more while planted ones crowd in."""
    n = k
    for _ in range(rounds):
        hits = fetch(question, n, *args, **kwargs)
        trusted = [p for p in hits if not is_untrusted(p)]
        if len(trusted) >= k or len(hits) < n:
            break
        n = k + len(hits) - len(trusted)
    return trusted[:k]


def trusted_search(reader: Any, settings: Settings, question: str, k: int | None = None,
                   doc_ids: Sequence[str] | None = None) -> list[Passage]:
    """The k best passages with planted ones set aside (in the evidence, in the prompt, in the
    closest passages shown). They fill the list only when fewer than k real passages exist."""
    from .retrieval import Retriever

    k = k or settings.k
    if reader.screened:
        # Quarantine already keeps every passage with an injection out of the index.
        return Retriever(reader, settings).retrieve(question, k, doc_ids)
    passages = Retriever(TrustedReader(reader), settings).retrieve(question, k, doc_ids)
    if len(passages) < k:
        ranked = Retriever(reader, settings).retrieve(question, k, doc_ids)
        passages += [p for p in ranked if is_untrusted(p)][: k - len(passages)]
    return passages
