"""The keyword (BM25) index, kept in step with Chroma.

Rebuilt after an ingest that changed anything (never per query) and stamped with the catalog
generation it reflects and the tokenizer version that built it; a stale or missing index (or one
from another tokenizer, after an upgrade) is rebuilt on open, which also repairs it after a crash.

The rebuild is incremental where it costs: tokenizing is the expensive step (≈ 60% of a from-
scratch build, measured by bench/scale.py at 245k chunks), so every chunk's token ids are kept
next to the index (`tokens.npz`, keyed by a hash of the chunk's title and text) and only new or
changed chunks are tokenized again. The BM25 matrix itself is computed with whole-array numpy
operations (same formula and parameters as bm25s' default "lucene" scoring) instead of bm25s'
per-document Python loop, and handed to a bm25s retriever for scoring and persistence.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
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
# Stamped on a saved index: an index tokenized by another version is rebuilt from scratch when
# opened (its cached token ids mean other words). 2: Unicode words, CJK bigrams.
TOKENIZER_VERSION = 2
# bm25s' defaults ("lucene" scoring), which the matrix below reproduces.
K1, B = 1.5, 0.75
_TOKENS_FILE = "tokens.npz"
_BLOCK_TOKENS = 1 << 20
_VOCAB_FILE = "vocab.json"


def _stemmers() -> dict[str, Any]:
    try:
        import Stemmer

        return {lang: Stemmer.Stemmer(lang) for lang in ("english", "russian", "greek")}
    except ImportError:  # PyStemmer is optional; plain tokens still work
        return {}


_STEMMERS = _stemmers()
_STEM = _STEMMERS.get("english")

# Scripts written without spaces between words (Han, kana, and Hangul, whose spaced words carry
# attached particles): no word splitter ships with the dependencies (bm25s splits on \w\w+,
# PyStemmer has no CJK stemmer), so a run of them is indexed as its characters and character
# bigrams, as Lucene's CJK analyzer does. A word of any length then matches: its bigrams, or
# its single character. Only the Basic Multilingual Plane is listed (rarer ideographs beyond it
# split words, as any other symbol does).
_CJK_RANGES = (
    (0x1100, 0x11FF), (0x2E80, 0x2FDF), (0x3005, 0x3007), (0x3021, 0x3029), (0x3038, 0x303B),
    (0x3040, 0x30FF), (0x3130, 0x318F), (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
    (0xA960, 0xA97F), (0xAC00, 0xD7FF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F),
)


def _char_class(ranges: Iterable[tuple[int, int]]) -> str:
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


def _word_ranges() -> list[tuple[int, int]]:
    """Letters, combining marks and decimal digits of the BMP outside _CJK_RANGES. Not the regex
    word class: it also takes `_`, "²" and "½", which the ASCII tokenizer never joined to a word,
    and leaves out the marks of scripts with no precomposed letters, cutting their words apart."""
    cjk = bytearray(0x10000)
    for a, b in _CJK_RANGES:
        cjk[a : b + 1] = b"\x01" * (b - a + 1)
    out: list[tuple[int, int]] = []
    start = -1
    for cp in range(0x10001):
        cat = unicodedata.category(chr(cp)) if cp < 0x10000 and not cjk[cp] else ""
        keep = cat[:1] in ("L", "M") or cat == "Nd"
        if keep and start < 0:
            start = cp
        elif not keep and start >= 0:
            out.append((start, cp - 1))
            start = -1
    return out


_WORD = f"[{_char_class(_word_ranges())}]+"
_UNICODE_TOKEN = re.compile(f"([{_char_class(_CJK_RANGES)}]+)|({_WORD}(?:[-']{_WORD})*)")
# Full-width Latin letters and digits (in CJK text) are the ASCII ones; ligatures are left to
# casefold ("ﬁ" → "fi").
_WIDE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Latin letters that carry no combining mark to strip, folded as ASCII search does.
_LATIN_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d",
                             "þ": "th", "ł": "l", "ı": "i", "ħ": "h", "ŀ": "l", "ё": "е"})


@lru_cache(maxsize=1 << 17)
def _word_token(word: str) -> str | None:
    """The index term of one casefolded word, or None for a stopword.

    Accents on Latin letters are dropped ("zürich" → "zurich", as Lucene's ASCII folding does),
    so a question typed without them finds the word and one typed with them still does; marks on
    other scripts are kept (Cyrillic "й" is its own letter). Then the word's language stemmer:
    English for Latin-script words (consistent between documents and questions, which is all
    BM25 needs, whatever the language), Russian for Cyrillic, Greek for Greek."""
    base = []
    for ch in unicodedata.normalize("NFD", word.translate(_LATIN_FOLD)):
        if unicodedata.combining(ch) and base and base[-1].isascii():
            continue
        base.append(ch)
    folded = unicodedata.normalize("NFC", "".join(base))
    if folded in _STOPWORDS:
        return None
    first = folded[0]
    if folded.isascii():
        lang = "english"
    elif "\u0400" <= first <= "\u04ff":
        lang = "russian"
    elif "\u0370" <= first <= "\u03ff":
        lang = "greek"
    else:
        return folded
    stemmer = _STEMMERS.get(lang)
    return stemmer.stemWord(folded) if stemmer is not None else folded


def tokenize(text: str) -> list[str]:
    """Index terms of `text`: lower-case words less English stopwords, stemmed. ASCII text takes
    the original (and much faster) path; other text is NFC-normalized and casefolded first, and
    its ASCII words give the same terms as on that path."""
    if text.isascii():
        words = [w for w in _TOKEN.findall(text.lower()) if w not in _STOPWORDS]
        return list(_STEM.stemWords(words)) if _STEM is not None else words
    text = unicodedata.normalize("NFC", text.translate(_WIDE)).casefold()
    out: list[str] = []
    for cjk, word in _UNICODE_TOKEN.findall(text):
        if cjk:
            out.extend(cjk)
            out.extend(cjk[i : i + 2] for i in range(len(cjk) - 1))
        else:
            term = _word_token(word)
            if term is not None:
                out.append(term)
    return out


@dataclass(frozen=True, slots=True)
class KeywordHit:
    chunk_id: str
    score: float


def _chunk_key(chunk: ChunkRecord) -> int:
    """What a chunk's tokens depend on (its title and text), as 64 bits."""
    digest = hashlib.blake2b(f"{chunk.title}\0{chunk.text}".encode("utf-8", "surrogatepass"),
                             digest_size=8).digest()
    return int.from_bytes(digest, "little")


class TokenCache:
    """The token ids of every chunk of a built index: one int32 stream, offsets, the number of
    leading title tokens per chunk, and a key per chunk that says whether it can be reused."""

    def __init__(self, chunk_ids: list[str], keys: np.ndarray, tokens: np.ndarray,
                 offsets: np.ndarray, title_len: np.ndarray, vocab: dict[str, int]) -> None:
        self.keys, self.tokens, self.offsets, self.title_len = keys, tokens, offsets, title_len
        self.vocab = vocab
        self._pos = {cid: i for i, cid in enumerate(chunk_ids)}

    def get(self, chunk_id: str, key: int) -> tuple[np.ndarray, int] | None:
        i = self._pos.get(chunk_id)
        if i is None or int(self.keys[i]) != key:
            return None
        return self.tokens[self.offsets[i] : self.offsets[i + 1]], int(self.title_len[i])

    def save(self, folder: Path) -> None:
        np.savez(folder / _TOKENS_FILE, keys=self.keys, tokens=self.tokens, offsets=self.offsets,
                 title_len=self.title_len)
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        (folder / _VOCAB_FILE).write_text(json.dumps(terms))

    @classmethod
    def load(cls, folder: Path, chunk_ids: list[str]) -> TokenCache | None:
        """None when absent or unreadable: the next build then tokenizes everything."""
        try:
            with np.load(folder / _TOKENS_FILE) as z:
                arrays = {k: z[k] for k in ("keys", "tokens", "offsets", "title_len")}
            terms = json.loads((folder / _VOCAB_FILE).read_text())
        except (OSError, ValueError, KeyError):
            return None
        if len(arrays["keys"]) != len(chunk_ids) or len(arrays["offsets"]) != len(chunk_ids) + 1:
            return None
        return cls(chunk_ids, arrays["keys"], arrays["tokens"], arrays["offsets"],
                   arrays["title_len"], {t: i for i, t in enumerate(terms)})


def _runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how often each occurs. (np.unique would do, but in
    numpy 2.4 its hash-table path takes ~20 s on 14M int64 keys; sorting takes ~1 s.)"""
    if not len(sorted_keys):
        return sorted_keys, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
    counts = np.diff(np.append(starts, len(sorted_keys)))
    return sorted_keys[starts], counts


def _bm25_matrix(
    tokens: np.ndarray, offsets: np.ndarray, titles: np.ndarray, n_vocab: int
) -> tuple[dict[str, Any], np.ndarray]:
    """bm25s' score matrix (CSC: one column per term, rows are chunks) of the token stream, and
    per term the number of chunks whose text (title tokens excluded) holds it.

    Whole-array numpy operations, over blocks of about a million tokens so that the temporary
    arrays stay small whatever the collection's size; what grows with it is only the result
    (one entry per distinct term of each chunk)."""
    from scipy import sparse

    n = len(offsets) - 1
    lengths = np.diff(offsets)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    tfs: list[np.ndarray] = []
    text_df = np.zeros(n_vocab, dtype=np.int64)
    start = 0
    while start < n:
        # chunks [start, end) hold about _BLOCK_TOKENS tokens (at least one chunk)
        end = max(start + 1, int(np.searchsorted(offsets, offsets[start] + _BLOCK_TOKENS, "right")) - 1)
        end = min(end, n)
        lo, hi = offsets[start], offsets[end]
        lens = lengths[start:end]
        keys = np.repeat(np.arange(end - start, dtype=np.int64) * n_vocab, lens)
        keys += tokens[lo:hi]  # one key per token: (chunk in block, term)
        # Text-only document frequencies: the distinct (chunk, term) pairs past the title.
        in_text = np.arange(hi - lo) >= np.repeat(offsets[start:end] - lo + titles[start:end], lens)
        text_pairs, _ = _runs(np.sort(keys[in_text]))
        text_df += np.bincount(text_pairs % n_vocab, minlength=n_vocab)
        keys.sort()
        pairs, tf = _runs(keys)  # sorted by chunk, then term
        rows.append((pairs // n_vocab + start).astype(np.int32))
        cols.append((pairs % n_vocab).astype(np.int32))
        tfs.append(tf.astype(np.float32))
        start = end
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
    col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int32)
    tf32 = np.concatenate(tfs) if tfs else np.zeros(0, dtype=np.float32)
    del rows, cols, tfs

    df = np.bincount(col, minlength=n_vocab)
    # An empty chunk counts as one token long, as bm25s indexes it (a placeholder token).
    doc_len = np.maximum(lengths, 1).astype(np.float64)
    avg = float(doc_len.mean()) if n else 1.0
    idf = np.zeros(n_vocab, dtype=np.float32)
    seen = df > 0
    idf[seen] = np.log1p((n - df[seen] + 0.5) / (df[seen] + 0.5))
    norm = (K1 * ((1 - B) + B * doc_len / avg)).astype(np.float32)
    # idf · tf / (norm + tf), computed in place: these arrays are the size of the result.
    scores = norm[row]
    scores += tf32
    np.divide(tf32, scores, out=scores)
    scores *= idf[col]
    del tf32
    # Pairs are in row order: a CSR matrix as is; scipy turns it into CSC without a sort.
    # (32-bit index arrays when they fit, or scipy widens every index array to 64 bits.)
    index_type = np.int32 if len(col) < 2**31 - 1 else np.int64
    row_ptr = np.zeros(n + 1, dtype=index_type)
    np.cumsum(np.bincount(row, minlength=n), out=row_ptr[1:])
    del row
    csc = sparse.csr_matrix((scores, col, row_ptr), shape=(n, n_vocab)).tocsc()
    matrix = {"data": csc.data.astype(np.float32, copy=False),
              "indices": csc.indices.astype(np.int32, copy=False),
              "indptr": csc.indptr.astype(np.int64, copy=False), "num_docs": n}
    return matrix, text_df


class KeywordIndex:
    def __init__(
        self,
        retriever: Any,
        chunk_ids: list[str],
        generation: int,
        df: dict[str, int] | None = None,
        *,
        searchable: bool = True,
        folder: Path | None = None,
        tokens: TokenCache | None = None,
    ) -> None:
        self._retriever = retriever
        self.chunk_ids = chunk_ids
        self.generation = generation
        # True: built over searchable documents only (quarantined ones left out of the statistics).
        self.searchable = searchable
        # Document frequency per token: the answering layer weighs question terms by rarity.
        self.df = df or {}
        self._vocab: dict[str, int] = getattr(retriever, "vocab_dict", None) or {}
        # Where this index was saved or loaded from, and its chunks' tokens (read only when the
        # next build needs them, so a reader never holds them in memory).
        self._folder = folder
        self._tokens = tokens
        self._doc_rows: dict[str, np.ndarray] | None = None

    def knows(self, token: str) -> bool:
        """Whether any searchable chunk holds this (tokenized) term."""
        return token in self.df

    def idf(self, token: str) -> float:
        n = max(1, len(self.chunk_ids))
        df = self.df.get(token, 0)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def token_cache(self) -> TokenCache | None:
        if self._tokens is None and self._folder is not None:
            self._tokens = TokenCache.load(self._folder, self.chunk_ids)
        return self._tokens

    @classmethod
    def build(
        cls, chunks: Iterable[ChunkRecord], generation: int, previous: KeywordIndex | None = None,
        searchable: bool = True,
    ) -> KeywordIndex:
        """The index of `chunks`; chunks whose title and text are unchanged since `previous` was
        built reuse its token ids instead of being tokenized again."""
        import bm25s

        cache = previous.token_cache() if previous is not None else None
        vocab: dict[str, int] = dict(cache.vocab) if cache is not None else {}
        ids: list[str] = []
        keys: list[int] = []
        pieces: list[np.ndarray] = []
        title_len: list[int] = []
        for c in chunks:
            key = _chunk_key(c)
            hit = cache.get(c.chunk_id, key) if cache is not None else None
            if hit is None:
                # The title is indexed with every chunk: questions often name what the document
                # is about. Only the text counts towards the document frequencies (`df`).
                title, text = tokenize(c.title), tokenize(c.text)
                hit = (np.fromiter((vocab.setdefault(t, len(vocab)) for t in title + text),
                                   np.int32, len(title) + len(text)), len(title))
            ids.append(c.chunk_id)
            keys.append(key)
            pieces.append(hit[0])
            title_len.append(hit[1])
        if not ids:
            return cls(None, [], generation, searchable=searchable)
        lengths = np.fromiter((len(p) for p in pieces), np.int64, len(pieces))
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        tokens = np.concatenate(pieces).astype(np.int32, copy=False)
        del pieces, lengths
        titles = np.asarray(title_len, dtype=np.int32)
        matrix, text_df = _bm25_matrix(tokens, offsets, titles, len(vocab))
        terms = sorted(vocab, key=vocab.__getitem__)
        df = {terms[i]: int(text_df[i]) for i in np.flatnonzero(text_df)}

        retriever = bm25s.BM25(k1=K1, b=B)
        retriever.scores = matrix
        retriever.vocab_dict = vocab
        retriever.unique_token_ids_set = set(vocab.values())
        retriever.nonoccurrence_array = None
        cache = TokenCache(ids, np.asarray(keys, dtype=np.uint64), tokens, offsets, titles, vocab)
        return cls(retriever, ids, generation, df, searchable=searchable, tokens=cache)

    def _rows_of(self, doc_ids: Iterable[str]) -> np.ndarray:
        """Row numbers of the chunks of these documents (the map is built once per index)."""
        if self._doc_rows is None:
            rows: dict[str, list[int]] = {}
            for i, cid in enumerate(self.chunk_ids):
                rows.setdefault(cid.split(":", 1)[0], []).append(i)
            self._doc_rows = {d: np.asarray(r, dtype=np.int64) for d, r in rows.items()}
        found = [self._doc_rows[d] for d in set(doc_ids) if d in self._doc_rows]
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    def search(
        self,
        query: str,
        k: int,
        allowed: set[str] | None = None,
        doc_ids: Iterable[str] | None = None,
    ) -> list[KeywordHit]:
        """The best `k` chunks for `query`; only chunks in `allowed` (chunk ids) and of `doc_ids`
        (documents) when given."""
        if self._retriever is None:
            return []
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens:
            return []
        scores = np.asarray(self._retriever.get_scores(tokens))
        if doc_ids is not None:
            keep = np.zeros(len(scores), dtype=bool)
            keep[self._rows_of(doc_ids)] = True
            scores = np.where(keep, scores, 0.0)
        if allowed is not None:
            mask = np.fromiter((cid in allowed for cid in self.chunk_ids), bool, len(self.chunk_ids))
            scores = np.where(mask, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [KeywordHit(self.chunk_ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def save(self, folder: Path) -> None:
        # Names of this process and thread: a reader that finds the index stale while an ingest
        # runs in another process may save at the same moment as that ingest does.
        own = f"{os.getpid()}-{threading.get_ident()}"
        tmp = folder.with_name(f"{folder.name}.tmp-{own}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._retriever is not None:
            self._retriever.save(str(tmp / "bm25"))
        tokens = self.token_cache()
        if tokens is not None:
            tokens.save(tmp)
        (tmp / "state.json").write_text(
            json.dumps({"generation": self.generation, "searchable": self.searchable,
                        "tokenizer": TOKENIZER_VERSION, "chunk_ids": self.chunk_ids,
                        "df": self.df})
        )
        # Swap whole folders so a reader never sees half an index.
        old = folder.with_name(f"{folder.name}.old-{own}")
        shutil.rmtree(old, ignore_errors=True)
        try:
            if folder.exists():
                folder.rename(old)
            tmp.rename(folder)
        except OSError:
            # Another process swapped its index in between: keep that one. Both are stamped
            # with their generation, and whoever finds the one kept stale rebuilds it.
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
            return
        shutil.rmtree(old, ignore_errors=True)
        self._folder = folder
        # The tokens are on disk now; a long-lived reader should not keep them in memory.
        self._tokens = None

    @classmethod
    def load(cls, folder: Path, generation: int | None = None,
             searchable: bool = True) -> KeywordIndex | None:
        """The index saved in `folder`, or None. Given the `generation` wanted, a stale index (or
        one built over another set of documents) is returned without its BM25 matrix: only good
        for lending its tokens to the next build. One tokenized by another TOKENIZER_VERSION (an
        index written before the version was stamped counts as 1) is None: nothing in it can be
        reused, and the caller rebuilds it from scratch."""
        import bm25s

        try:
            state = json.loads((folder / "state.json").read_text())
            if int(state.get("tokenizer", 1)) != TOKENIZER_VERSION:
                return None
            built_searchable = bool(state.get("searchable", False))
            stale = generation is not None and (int(state["generation"]) != generation
                                                or built_searchable != searchable)
            retriever = (bm25s.BM25.load(str(folder / "bm25"))
                         if state["chunk_ids"] and not stale else None)
        except (OSError, ValueError, KeyError):
            return None
        return cls(retriever, list(state["chunk_ids"]), int(state["generation"]), state.get("df"),
                   searchable=built_searchable, folder=folder)


_cache: dict[str, KeywordIndex] = {}
_cache_lock = threading.Lock()


def keyword_index(catalog: Catalog, folder: Path, searchable: bool = True) -> KeywordIndex:
    """The up-to-date keyword index: from memory, else from disk, else rebuilt and saved.
    `searchable`: over documents not quarantined (the default) or over all of them."""
    generation = catalog.generation
    key = str(folder.resolve())
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and (cached.generation, cached.searchable) == (generation, searchable):
            return cached
        index = KeywordIndex.load(folder, generation, searchable)
        if index is None or (index.generation, index.searchable) != (generation, searchable):
            # The stale index on disk (if any) lends its tokens to the chunks that did not change.
            index = KeywordIndex.build(catalog.iter_chunks(searchable), generation, previous=index,
                                       searchable=searchable)
            index.save(folder)
        _cache[key] = index
        return index


def rebuild(catalog: Catalog, folder: Path, searchable: bool = True) -> KeywordIndex:
    index = KeywordIndex.build(catalog.iter_chunks(searchable), catalog.generation,
                               searchable=searchable)
    index.save(folder)
    with _cache_lock:
        _cache[str(folder.resolve())] = index
    return index
