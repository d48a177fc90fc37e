"""Chunking: token budget, sentence boundaries, overlap/coverage, over-long sentences."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from core.settings import Settings
from index.chunking import ChunkingConfig, chunk_document
from index.cleaning import content_spans
from index.loaders import load_document
from index.models import Chunk, Document
from index.sentences import sentence_spans
from index.tokens import count_tokens

CONFIGS = [
    pytest.param(None, id="default-settings"),
    pytest.param((64, 16), id="64-16"),
    pytest.param((32, 0), id="32-no-overlap"),
]


def _config(pair: tuple[int, int] | None) -> ChunkingConfig:
    if pair is None:
        s = Settings()
        return ChunkingConfig(s.chunk_tokens, s.chunk_overlap_tokens)
    return ChunkingConfig(*pair)


def _doc(text: str, doc_id: str = "d0") -> Document:
    return Document(
        doc_id=doc_id, source=f"{doc_id}.txt", path=f"/x/{doc_id}.txt", root="/x", text=text,
        content_hash="0" * 64, spans=content_spans(text),
    )


def _corpus_docs(corpus_dir: Path) -> list[Document]:
    return [
        load_document(p, p.read_bytes(), doc_id=f"doc{i}", source=p.name, root=str(corpus_dir))
        for i, p in enumerate(sorted(corpus_dir.glob("*.txt")))
    ]


def _check_chunks(doc: Document, chunks: list[Chunk], config: ChunkingConfig,
                  *, words_intact: bool = True) -> None:
    text = doc.text
    assert chunks, f"{doc.source}: no chunks"
    sentences = [s for span in doc.spans for s in sentence_spans(text, *span)]
    sentence_starts = {a for a, _ in sentences}
    sentence_ends = {b for _, b in sentences}
    for n, c in enumerate(chunks):
        assert c.ordinal == n
        assert c.text == text[c.start : c.end]
        tokens = count_tokens(c.text)
        assert tokens <= config.max_tokens, f"chunk {n} has {tokens} > {config.max_tokens} tokens"
        assert c.text == c.text.strip(), f"chunk {n} has surrounding whitespace"
        # Inside the content spans, never across boilerplate.
        assert any(a <= c.start and c.end <= b for a, b in doc.spans), f"chunk {n} leaves a span"
        if words_intact:
            # Never starts or ends mid-word.
            assert c.start == 0 or text[c.start - 1].isspace(), f"chunk {n}: {c.text[:30]!r}"
            assert c.end == len(text) or text[c.end].isspace(), f"chunk {n}: {c.text[-30:]!r}"
            # Starts/ends on a sentence boundary unless that sentence alone is over the budget.
            for pos, bounds in ((c.start, sentence_starts), (c.end, sentence_ends)):
                if pos not in bounds:
                    owner = next((a, b) for a, b in sentences if a <= pos <= b)
                    assert count_tokens(text[owner[0] : owner[1]]) > config.max_tokens, (
                        f"chunk {n} cuts the sentence {text[owner[0]:owner[1]]!r}"
                    )
    # Ordered; consecutive chunks overlap or abut (only whitespace or boilerplate between).
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start > prev.start and nxt.end > prev.end
        if nxt.start > prev.end:
            gap = range(prev.end, nxt.start)
            content = [i for i in gap if not text[i].isspace()
                       and any(a <= i < b for a, b in doc.spans)]
            assert not content, f"content lost between chunks: {text[prev.end:nxt.start]!r}"
    # Coverage: every non-space character of content is in some chunk.
    covered = bytearray(len(text))
    for c in chunks:
        covered[c.start : c.end] = b"\x01" * (c.end - c.start)
    for a, b in doc.spans:
        missing = [i for i in range(a, b) if not covered[i] and not text[i].isspace()]
        assert not missing, f"content not in any chunk: {text[missing[0]:missing[0] + 40]!r}"


@pytest.mark.parametrize("pair", CONFIGS)
def test_corpus_chunks_respect_budget_boundaries_and_overlap(corpus_dir: Path, pair) -> None:
    config = _config(pair)
    overlapping = 0
    for doc in _corpus_docs(corpus_dir):
        chunks = chunk_document(doc, config)
        _check_chunks(doc, chunks, config)
        overlapping += sum(b.start < a.end for a, b in itertools.pairwise(chunks))
    # With an overlap budget, neighbours share sentences (a sentence longer than the overlap
    # budget is not repeated); without one, they never do.
    assert (overlapping > 0) == (config.overlap_tokens > 0)


@pytest.mark.parametrize("pair", CONFIGS)
def test_over_long_sentence_is_split_under_budget(pair) -> None:
    config = _config(pair)
    rng = random.Random(7)
    vocab = ("missile export control embassy cable tehran beijing shipment perchlorate "
             "tonnes diplomatic sanctions components guidance").split()
    sentence = " ".join(rng.choice(vocab) for _ in range(2000))  # no full stop anywhere
    text = f"A short opening sentence. {sentence}\nA closing line."
    doc = _doc(text)
    chunks = chunk_document(doc, config)
    assert len(chunks) >= count_tokens(sentence) // config.max_tokens
    _check_chunks(doc, chunks, config)


def test_words_longer_than_the_budget_are_cut(tmp_path: Path) -> None:
    """Text without spaces (base64, long URLs, CJK) must still fit the embedder's window."""
    config = ChunkingConfig(64, 16)
    blob = "".join(random.Random(3).choice("abcdefghijklmnopqrstuvwxyz0123456789+/")
                   for _ in range(6000))
    cjk = "中国向伊朗出售武器零部件的问题引起了美国外交官的关注" * 40
    text = f"Intro sentence here. {blob} tail words end.\n{cjk}\nLast line."
    doc = _doc(text)
    chunks = chunk_document(doc, config)
    _check_chunks(doc, chunks, config, words_intact=False)


def test_special_token_text_is_chunked_as_text() -> None:
    text = "The model emits <|endoftext|> when it is done. Then the next document starts."
    doc = _doc(text)
    chunks = chunk_document(doc, ChunkingConfig(32, 8))
    _check_chunks(doc, chunks, ChunkingConfig(32, 8))


def test_chunk_ids_are_deterministic_and_change_with_content(corpus_dir: Path) -> None:
    config = _config(None)
    doc = _corpus_docs(corpus_dir)[0]
    first = [c.chunk_id for c in chunk_document(doc, config)]
    assert first == [c.chunk_id for c in chunk_document(doc, config)]
    assert len(set(first)) == len(first)
    changed = load_document(
        Path(doc.path), (doc.text + "\nOne more sentence.").encode(), doc_id=doc.doc_id,
        source=doc.source, root=doc.root,
    )
    assert not set(first) & {c.chunk_id for c in chunk_document(changed, config)}
