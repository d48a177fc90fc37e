"""Objects that cross module lines on the indexing side: files → documents → chunks → passages."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class Document:
    """A loaded file. `text` is what the user is shown; every offset points into it."""

    doc_id: str
    source: str  # path relative to the ingested folder (a single file: its name)
    path: str  # absolute path on disk
    root: str  # the folder (or file) that was ingested
    text: str
    content_hash: str
    title: str = ""
    date: str = ""
    # Character ranges of `text` that hold content; boilerplate outside them is never chunked.
    spans: tuple[tuple[int, int], ...] = ()
    warnings: tuple[str, ...] = ()
    # Why the document is quarantined (index/screening.py); "" when it is searchable.
    quarantine: str = ""


@dataclass(frozen=True, slots=True)
class Chunk:
    chunk_id: str
    doc_id: str
    source: str
    ordinal: int
    start: int
    end: int
    text: str
    title: str = ""
    date: str = ""


class Passage(BaseModel):
    """A retrieved chunk, as the contract's PASSAGE object (plus a few extra fields)."""

    source: str
    doc_id: str
    start: int
    end: int
    text: str
    score: float
    chunk_id: str = ""
    title: str = ""
    date: str = ""
    # Characters of the passage's first line that lie before it in the document: a chunk starts
    # where a sentence does, often in mid-line, and where lines break is read from their length.
    line_offset: int = 0

    def contract(self) -> dict[str, object]:
        """The contract's PASSAGE object (plus `title`)."""
        return {
            "source": self.source,
            "doc_id": self.doc_id,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "score": self.score,
            "title": self.title,
        }


# Failure reasons are printed one per line and may quote parser messages: keep them short.
MAX_REASON_CHARS = 300


def one_line(reason: str) -> str:
    """A failure reason as one short line (parser messages may span lines or quote the file)."""
    text = " ".join(reason.split())
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


@dataclass(slots=True)
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    seconds: float = 0.0
    embedded: int = 0  # chunks sent to the embedder in this run (0 on a no-change re-run)
    failed: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    # Files indexed but kept out of search because they hold instructions to the assistant.
    quarantined: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "failed": self.failed,
            "warnings": self.warnings,
            "quarantined": self.quarantined,
            "embedded": self.embedded,
        }
