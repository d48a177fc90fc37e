"""The keyword (BM25) index, kept in step with Chroma.

bm25s builds from scratch in well under a second per 10k chunks, so it is rebuilt after an ingest
that changed anything (never per query) and stamped with the catalog generation it reflects. A
stale or missing index is rebuilt on open, which also repairs it after a crash.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .catalog import Catalog, ChunkRecord

_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_STOPWORDS = frozenset(
    "a an and are as at be been but by did do does for from had has have he her his how i in "
    "into is it its of on or our she so than that the their them then there these they this "
    "to was were what when where which who whom why will with would you your".split()
)


def _stemmer() -> Any:
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # PyStemmer is optional; plain tokens still work
        return None


_STEM = _stemmer()


def tokenize(text: str) -> list[str]:
    words = [w for w in _TOKEN.findall(text.lower()) if w not in _STOPWORDS]
    return list(_STEM.stemWords(words)) if _STEM is not None else words


@dataclass(frozen=True, slots=True)
class KeywordHit:
    chunk_id: str
    score: float


class KeywordIndex:
    def __init__(
        self,
        retriever: Any,
        chunk_ids: list[str],
        generation: int,
        df: dict[str, int] | None = None,
    ) -> None:
        self._retriever = retriever
        self.chunk_ids = chunk_ids
        self.generation = generation
        # Document frequency per token: the answering layer weighs question terms by rarity.
        self.df = df or {}
        self._vocab: dict[str, int] = getattr(retriever, "vocab_dict", None) or {}

    def idf(self, token: str) -> float:
        n = max(1, len(self.chunk_ids))
        df = self.df.get(token, 0)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    @classmethod
    def build(cls, chunks: Iterable[ChunkRecord], generation: int) -> KeywordIndex:
        import bm25s

        ids: list[str] = []
        corpus: list[list[str]] = []
        df: Counter[str] = Counter()
        for c in chunks:
            ids.append(c.chunk_id)
            tokens = tokenize(c.text)
            df.update(set(tokens))
            # The title is indexed with every chunk: questions often name what the document is about.
            corpus.append(tokenize(c.title) + tokens or ["\u2205"])
        if not ids:
            return cls(None, [], generation)
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
        return cls(retriever, ids, generation, dict(df))

    def search(self, query: str, k: int, allowed: set[str] | None = None) -> list[KeywordHit]:
        if self._retriever is None:
            return []
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens:
            return []
        scores = np.asarray(self._retriever.get_scores(tokens))
        if allowed is not None:
            mask = np.fromiter((cid in allowed for cid in self.chunk_ids), bool, len(self.chunk_ids))
            scores = np.where(mask, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [KeywordHit(self.chunk_ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._retriever is not None:
            self._retriever.save(str(tmp / "bm25"))
        (tmp / "state.json").write_text(
            json.dumps({"generation": self.generation, "chunk_ids": self.chunk_ids, "df": self.df})
        )
        # Swap whole folders so a reader never sees half an index.
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex | None:
        import bm25s

        try:
            state = json.loads((folder / "state.json").read_text())
            retriever = bm25s.BM25.load(str(folder / "bm25")) if state["chunk_ids"] else None
        except (OSError, ValueError, KeyError):
            return None
        return cls(retriever, list(state["chunk_ids"]), int(state["generation"]), state.get("df"))


_cache: dict[str, KeywordIndex] = {}
_cache_lock = threading.Lock()


def keyword_index(catalog: Catalog, folder: Path) -> KeywordIndex:
    """The up-to-date keyword index: from memory, else from disk, else rebuilt and saved."""
    generation = catalog.generation
    key = str(folder.resolve())
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached.generation == generation:
            return cached
        index = KeywordIndex.load(folder)
        if index is None or index.generation != generation:
            index = KeywordIndex.build(catalog.iter_chunks(), generation)
            index.save(folder)
        _cache[key] = index
        return index


def rebuild(catalog: Catalog, folder: Path) -> KeywordIndex:
    index = KeywordIndex.build(catalog.iter_chunks(), catalog.generation)
    index.save(folder)
    with _cache_lock:
        _cache[str(folder.resolve())] = index
    return index
