"""Consistency checks for one DOSSIER_HOME, read from outside the process that wrote it.

Two levels:

- `check_crashed(settings, history)`: what must hold at *any* instant, even right after a
  `kill -9` of an ingest and before the next run repairs anything:
  * no chunk id twice, in the catalog or in Chroma;
  * every `done` document is whole: its catalog chunks are exactly `n_chunks > 0` ids, each in
    Chroma once, with Chroma's text and metadata equal to the catalog's slice of the text;
  * every vector in Chroma belongs to a document the catalog tracks (no orphan that no run
    would ever repair);
  * a `pending` document (a write was interrupted) holds in Chroma nothing, or exactly one whole
    version of the file (all chunk ids of one of its contents, never a mix or a part);
  * the keyword index on disk is never ahead of the catalog, and when it is stamped with the
    catalog's generation it holds exactly the `done` chunks (an older stamp is stale and is
    rebuilt on open);
  * every `done` document has the content of one of the versions its file has had.
- `check_complete(settings, files)`: after a normal run, in addition: nothing pending, Chroma ==
  catalog == keyword index, and the catalog holds exactly `files` with their current content.

`history` / `files` map a file's absolute path to its contents (every version it has had / its
current one), so the checker can compute the chunk ids each version would get.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from conftest import forget_chroma_clients

from core.settings import BUNDLED_EMBED_MODEL, Settings


@dataclass
class Snapshot:
    """Everything the three stores hold, read fresh from disk (or from the Chroma server)."""

    docs: dict[str, dict]  # doc_id -> catalog row (source, path, content_hash, n_chunks, state, text)
    chunks: dict[str, tuple[str, int, int]]  # catalog chunk_id -> (doc_id, start, end)
    catalog_chunk_rows: int  # rows in the chunks table (more than len(chunks) = duplicates)
    generation: int
    chroma: dict[str, tuple[str, dict]]  # chunk_id -> (stored text, metadata)
    chroma_rows: int  # ids Chroma returned (more than len(chroma) = duplicates)
    keyword_generation: int | None  # None: no keyword index on disk
    keyword_ids: list[str]

    def done_chunk_ids(self) -> set[str]:
        return {cid for cid, (doc, _, _) in self.chunks.items() if self.docs[doc]["state"] == "done"}

    def searchable_chunk_ids(self) -> set[str]:
        """The done chunks the keyword index holds: none of a quarantined document."""
        return {cid for cid in self.done_chunk_ids() if not self.docs[self.chunks[cid][0]]["quarantine"]}

    def sources(self, state: str = "done") -> set[str]:
        return {d["source"] for d in self.docs.values() if d["state"] == state}


def corpus_sentences(corpus_dir: Path) -> list[str]:
    """Content sentences of the sample corpus (30–170 characters): the material the crash tests
    build their changing collections from."""
    from index.cleaning import content_spans
    from index.sentences import sentence_spans

    out = []
    for path in sorted(corpus_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for span in content_spans(text):
            out.extend(text[a:b] for a, b in sentence_spans(text, *span) if 30 < b - a < 170)
    return out


def snapshot(settings: Settings) -> Snapshot:
    from index.keyword import KeywordIndex
    from index.store import open_store

    forget_chroma_clients()
    db = sqlite3.connect(f"file:{settings.catalog_path}?mode=ro", uri=True, timeout=10)
    try:
        docs = {
            row[0]: {"source": row[1], "path": row[2], "content_hash": row[3], "n_chunks": row[4],
                     "state": row[5], "text": row[6], "quarantine": row[7]}
            for row in db.execute(
                "SELECT doc_id, source, path, content_hash, n_chunks, state, text, quarantine "
                "FROM documents"
            )
        }
        rows = db.execute('SELECT chunk_id, doc_id, start, "end" FROM chunks').fetchall()
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    finally:
        db.close()
    store = open_store(settings, meta.get("embed_model", BUNDLED_EMBED_MODEL), create=False)
    chroma: dict[str, tuple[str, dict]] = {}
    chroma_rows = 0
    hits = store.get(store.chunk_ids())
    chroma_rows = len(hits)
    for hit in hits:
        chroma[hit.chunk_id] = (hit.text or "", dict(hit.metadata))
    keyword = KeywordIndex.load(settings.keyword_path)
    return Snapshot(
        docs=docs,
        chunks={cid: (doc, int(start), int(end)) for cid, doc, start, end in rows},
        catalog_chunk_rows=len(rows),
        generation=int(meta.get("generation", 0)),
        chroma=chroma,
        chroma_rows=chroma_rows,
        keyword_generation=None if keyword is None else keyword.generation,
        keyword_ids=[] if keyword is None else list(keyword.chunk_ids),
    )


def version_chunk_ids(path: Path, data: bytes, settings: Settings) -> frozenset[str]:
    """The chunk ids the ingest gives this file with these contents (empty if it cannot load)."""
    from core.errors import LoadError
    from index.chunking import ChunkingConfig, chunk_document
    from index.ingest import doc_id_for
    from index.loaders import load_document

    try:
        doc = load_document(path, data, doc_id=doc_id_for(path), source=path.name, root=str(path))
    except LoadError:
        return frozenset()
    config = ChunkingConfig(settings.chunk_tokens, settings.chunk_overlap_tokens)
    return frozenset(c.chunk_id for c in chunk_document(doc, config))


def check_crashed(settings: Settings, history: Mapping[Path, Sequence[bytes]]) -> Snapshot:
    """The invariants that hold at any instant (see the module docstring). Returns the snapshot."""
    from index.ingest import doc_id_for
    from index.loaders import content_hash

    snap = snapshot(settings)
    assert snap.catalog_chunk_rows == len(snap.chunks), "duplicate chunk ids in the catalog"
    assert snap.chroma_rows == len(snap.chroma), "duplicate ids in Chroma"

    for doc_id, doc in snap.docs.items():
        if doc["state"] != "done":
            continue
        ids = {cid for cid, (d, _, _) in snap.chunks.items() if d == doc_id}
        assert len(ids) == doc["n_chunks"] > 0, f"{doc['source']}: {len(ids)} chunks, n={doc['n_chunks']}"
        missing = ids - snap.chroma.keys()
        assert not missing, f"{doc['source']} is done but {len(missing)} of its vectors are missing"
        for cid in ids:
            _, start, end = snap.chunks[cid]
            text, md = snap.chroma[cid]
            assert text == doc["text"][start:end], f"{cid}: Chroma text != catalog text slice"
            assert (md.get("doc_id"), md.get("start"), md.get("end"), md.get("source")) == (
                doc_id, start, end, doc["source"]), f"{cid}: Chroma metadata {md}"

    by_doc: dict[str, set[str]] = {}
    for cid in snap.chroma:
        by_doc.setdefault(cid.split(":", 1)[0], set()).add(cid)
    orphans = sorted(d for d in by_doc if d not in snap.docs)
    assert not orphans, f"vectors of {len(orphans)} documents the catalog does not know: {orphans[:3]}"

    paths = {doc_id_for(p): p for p in history}
    for doc_id, doc in snap.docs.items():
        in_chroma = by_doc.get(doc_id, set())
        path = paths.get(doc_id)
        if doc["state"] == "done":
            assert in_chroma == {c for c, (d, _, _) in snap.chunks.items() if d == doc_id}, (
                f"{doc['source']} is done but Chroma holds other ids of it too")
            if path is not None:
                hashes = {content_hash(v) for v in history[path]}
                assert doc["content_hash"] in hashes, f"{doc['source']}: content of no known version"
            continue
        if not in_chroma:
            continue
        # An interrupted write: Chroma holds one whole version (old or new), never a part or a mix.
        old = frozenset(c for c, (d, _, _) in snap.chunks.items() if d == doc_id)
        versions = {old}
        if path is not None:
            versions |= {version_chunk_ids(path, v, settings) for v in history[path]}
        assert frozenset(in_chroma) in versions, (
            f"pending {doc['source'] or doc_id}: Chroma holds {len(in_chroma)} vectors that are not one "
            f"whole version of it (versions have {sorted(len(v) for v in versions)})")

    if snap.keyword_generation is not None:
        assert snap.keyword_generation <= snap.generation, "keyword index ahead of the catalog"
        if snap.keyword_generation == snap.generation:
            assert len(snap.keyword_ids) == len(set(snap.keyword_ids)), "duplicate ids in keyword index"
            assert set(snap.keyword_ids) == snap.searchable_chunk_ids(), (
                "keyword index stamped current but its chunks differ from the catalog's")
    return snap


def check_complete(settings: Settings, files: Mapping[Path, bytes]) -> Snapshot:
    """After a run that finished: everything of `check_crashed`, nothing pending, the three stores
    equal, and exactly `files` indexed with their current content."""
    from index.loaders import content_hash

    snap = check_crashed(settings, {p: [data] for p, data in files.items()})
    pending = sorted(d["source"] for d in snap.docs.values() if d["state"] != "done")
    assert not pending, f"documents left pending: {pending[:5]}"
    assert set(snap.chroma) == set(snap.chunks), (
        f"Chroma holds {len(snap.chroma)} ids, the catalog {len(snap.chunks)}; they differ")
    assert snap.keyword_generation == snap.generation, "keyword index is stale after a finished run"
    assert sorted(snap.keyword_ids) == sorted(snap.searchable_chunk_ids()), "keyword index != catalog"
    indexed = {d["path"]: d["content_hash"] for d in snap.docs.values()}
    expected = {str(p): content_hash(data) for p, data in files.items()}
    missing, extra = sorted(set(expected) - set(indexed)), sorted(set(indexed) - set(expected))
    assert not missing and not extra, f"missing {missing[:5]}, extra {extra[:5]}"
    stale = sorted(p for p in expected if indexed[p] != expected[p])
    assert not stale, f"indexed with old content: {stale[:5]}"
    return snap
