"""The manifest: which files are indexed, their content hashes, text and chunk offsets (SQLite).

A document row is written `pending` before its vectors change and flipped to `done` after they
are stored, so a crash in between leaves a marker that the next run repairs.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .models import Chunk, Document
from .sentences import line_offset

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    root TEXT NOT NULL,
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    n_chunks INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    updated_at REAL NOT NULL DEFAULT 0,
    quarantine TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS documents_root ON documents(root);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, ordinal);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# The columns of a DocRecord, in its field order.
_DOC_SELECT = ("SELECT doc_id, path, root, source, content_hash, title, date, n_chunks, state, "
               "quarantine FROM documents")


@dataclass(frozen=True, slots=True)
class DocRecord:
    doc_id: str
    path: str
    root: str
    source: str
    content_hash: str
    title: str
    date: str
    n_chunks: int
    state: str
    quarantine: str = ""


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    chunk_id: str
    doc_id: str
    source: str
    ordinal: int
    start: int
    end: int
    text: str
    title: str
    date: str


class Catalog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(documents)")}
        if "quarantine" not in columns:  # a catalog written before screening existed
            self._db.execute("ALTER TABLE documents ADD COLUMN quarantine TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        self._db.close()

    # -- meta -----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        """Bumped on every committed change; the keyword index records the one it was built at."""
        return int(self.get_meta("generation") or 0)

    @property
    def synced(self) -> str:
        """The stamp of the last ingest that finished having changed something ("" before any):
        a long-lived reader compares it on every search to notice another process's ingest."""
        return self.get_meta("synced") or ""

    def mark_synced(self) -> None:
        """Stamp the end of an ingest, once Chroma, the catalog and the keyword index are all
        written. Only when the generation moved since the last stamp: a new stamp makes every
        reader reload its vector index, which a no-op re-run must not cost them."""
        generation = self.generation
        if self.synced.split(":", 1)[0] != str(generation):
            self.set_meta("synced", f"{generation}:{time.time_ns()}")

    # -- documents ------------------------------------------------------------------------
    def documents(self, root: str | None = None) -> list[DocRecord]:
        rows = (
            self._db.execute(_DOC_SELECT + " WHERE root=? ORDER BY source", (root,))
            if root is not None
            else self._db.execute(_DOC_SELECT + " ORDER BY source")
        )
        return [DocRecord(*row) for row in rows]

    def document(self, doc_id: str) -> DocRecord | None:
        row = self._db.execute(_DOC_SELECT + " WHERE doc_id=?", (doc_id,)).fetchone()
        return None if row is None else DocRecord(*row)

    def document_text(self, doc_id: str) -> str | None:
        row = self._db.execute("SELECT text FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return None if row is None else str(row[0])

    def line_offset(self, doc_id: str, start: int, window: int = 200) -> int:
        """How many characters of the line holding document offset `start` come before it (at
        most `window`: a longer line is no hard-wrapped one). Reads only those characters."""
        if start <= 0:
            return 0
        lo = max(0, start - window)
        row = self._db.execute("SELECT substr(text, ?, ?) FROM documents WHERE doc_id=?",
                               (lo + 1, start - lo, doc_id)).fetchone()
        if row is None or row[0] is None:
            return 0
        before = str(row[0])
        return line_offset(before, len(before))

    def pending(self) -> list[DocRecord]:
        # Filtered in SQL: called at every ingest start, and a 100k-document catalog is ~0.4 s of
        # CPU to turn into records (bench/scale.py) when almost none of them is pending.
        rows = self._db.execute(_DOC_SELECT + " WHERE state != 'done' ORDER BY source")
        return [DocRecord(*row) for row in rows]

    def mark_pending(self, docs: Sequence[Document]) -> None:
        with self._tx():
            self._db.executemany(
                "INSERT INTO documents (doc_id, path, root, source, content_hash, title, date, "
                "text, n_chunks, state) VALUES (?,?,?,?,?,?,?,?,0,'pending') "
                "ON CONFLICT(doc_id) DO UPDATE SET state='pending'",
                [(d.doc_id, d.path, d.root, d.source, "", d.title, d.date, "") for d in docs],
            )
            # A pending document leaves the searchable set, so a keyword index stamped with the
            # old generation would still return its chunks (found by the kill -9 loop test).
            self._bump()

    def commit_documents(self, docs: Sequence[tuple[Document, Sequence[Chunk]]]) -> None:
        now = time.time()
        with self._tx():
            ids = [(d.doc_id,) for d, _ in docs]
            self._db.executemany("DELETE FROM chunks WHERE doc_id=?", ids)
            self._db.executemany(
                "INSERT OR REPLACE INTO documents (doc_id, path, root, source, content_hash, "
                "title, date, text, n_chunks, state, updated_at, quarantine) "
                "VALUES (?,?,?,?,?,?,?,?,?,'done',?,?)",
                [
                    (d.doc_id, d.path, d.root, d.source, d.content_hash, d.title, d.date, d.text,
                     len(chunks), now, d.quarantine)
                    for d, chunks in docs
                ],
            )
            self._db.executemany(
                'INSERT INTO chunks (chunk_id, doc_id, ordinal, start, "end") VALUES (?,?,?,?,?)',
                [(c.chunk_id, c.doc_id, c.ordinal, c.start, c.end) for _, cs in docs for c in cs],
            )
            self._bump()

    def remove(self, doc_ids: Iterable[str]) -> None:
        ids = [(d,) for d in doc_ids]
        if not ids:
            return
        with self._tx():
            self._db.executemany("DELETE FROM chunks WHERE doc_id=?", ids)
            self._db.executemany("DELETE FROM documents WHERE doc_id=?", ids)
            self._bump()

    def quarantined(self) -> dict[str, str]:
        """doc_id -> why, for every committed document kept out of search."""
        return dict(self._db.execute(
            "SELECT doc_id, quarantine FROM documents WHERE state='done' AND quarantine != ''"))

    def quarantined_chunks(self) -> int:
        return int(self._db.execute(
            "SELECT count(*) FROM chunks c JOIN documents d USING (doc_id) "
            "WHERE d.state='done' AND d.quarantine != ''").fetchone()[0])

    def set_quarantine(self, reasons: dict[str, str]) -> None:
        """Record new screening results (doc_id -> reason, "" for searchable)."""
        with self._tx():
            self._db.executemany("UPDATE documents SET quarantine=? WHERE doc_id=?",
                                 [(why, doc_id) for doc_id, why in reasons.items()])
            # The searchable set changed: the keyword index must be rebuilt.
            self._bump()

    # -- chunks ---------------------------------------------------------------------------
    def chunk_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def chunk_ids(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT chunk_id FROM chunks ORDER BY rowid")]

    def chunk_ids_of(self, doc_ids: Sequence[str], limit: int | None = None) -> list[str]:
        """Chunk ids of these documents (at most `limit`; uses the chunks_doc index)."""
        ids = list(dict.fromkeys(doc_ids))
        out: list[str] = []
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            out.extend(r[0] for r in self._db.execute(
                f"SELECT chunk_id FROM chunks WHERE doc_id IN ({marks}) ORDER BY doc_id, ordinal",
                part))
            if limit is not None and len(out) > limit:
                return out[:limit]
        return out

    def iter_chunks(self, searchable: bool = False) -> Iterator[ChunkRecord]:
        """All chunks of committed documents, with their text sliced from the document; only
        those of documents not quarantined when `searchable`."""
        rows = self._db.execute(
            "SELECT d.doc_id, d.source, d.title, d.date, d.text, c.chunk_id, c.ordinal, c.start, "
            'c."end" FROM documents d JOIN chunks c USING (doc_id) WHERE d.state=\'done\' '
            + ("AND d.quarantine='' " if searchable else "")
            + "ORDER BY d.doc_id, c.ordinal"
        )
        for doc_id, source, title, date, text, chunk_id, ordinal, start, end in rows:
            yield ChunkRecord(chunk_id, doc_id, source, ordinal, start, end, text[start:end],
                              title, date)

    def neighbours(self, doc_id: str, ordinal: int, radius: int) -> list[tuple[int, int, int]]:
        return [
            (int(o), int(s), int(e))
            for o, s, e in self._db.execute(
                'SELECT ordinal, start, "end" FROM chunks WHERE doc_id=? AND ordinal BETWEEN ? AND ? '
                "ORDER BY ordinal",
                (doc_id, ordinal - radius, ordinal + radius),
            )
        ]

    # -- internals ------------------------------------------------------------------------
    def _bump(self) -> None:
        self._db.execute(
            "INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE "
            "SET value = CAST(value AS INTEGER) + 1"
        )

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
