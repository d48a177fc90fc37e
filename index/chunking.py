"""documents → chunks: token-aware packing of whole sentences, with overlap, exact offsets.

Chunks never cross a boundary between content spans (so boilerplate is never embedded), and a
sentence longer than the budget is cut at whitespace. `chunk.text == document.text[start:end]`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import Chunk, Document
from .sentences import sentence_spans
from .tokens import count_tokens

# Bump when chunk boundaries change for the same settings: existing indexes are re-chunked.
CHUNKER_VERSION = 2


@dataclass(frozen=True, slots=True)
class ChunkingConfig:
    max_tokens: int = 160
    overlap_tokens: int = 40


def chunking_signature(config: ChunkingConfig) -> str:
    return f"v{CHUNKER_VERSION}:{config.max_tokens}:{config.overlap_tokens}"


def _hard_cut(text: str, start: int, end: int, max_tokens: int) -> int:
    """The largest cut point in text[start:end] whose prefix fits `max_tokens` (at least 1 char)."""
    lo, hi = start + 1, end
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(text[start:mid]) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _split_long(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int, int]]:
    """Cut one over-long sentence at whitespace into pieces of at most `max_tokens`; a single
    word over the budget (a URL, base64, text written without spaces) is cut inside the word."""
    pieces: list[tuple[int, int, int]] = []
    piece_start = start
    last_space = -1
    pos = start
    while pos < end:
        nxt = text.find(" ", pos + 1, end)
        nxt = end if nxt == -1 else nxt
        if count_tokens(text[piece_start:nxt]) > max_tokens:
            if last_space > piece_start:
                pieces.append((piece_start, last_space, count_tokens(text[piece_start:last_space])))
                piece_start = last_space + 1
                while piece_start < nxt and text[piece_start] == " ":
                    piece_start += 1
            while count_tokens(text[piece_start:nxt]) > max_tokens:
                cut = _hard_cut(text, piece_start, nxt, max_tokens)
                pieces.append((piece_start, cut, count_tokens(text[piece_start:cut])))
                piece_start = cut
        last_space = nxt
        pos = nxt
    if piece_start < end:
        pieces.append((piece_start, end, count_tokens(text[piece_start:end])))
    return pieces


def _units(doc: Document, span: tuple[int, int], max_tokens: int) -> list[tuple[int, int, int]]:
    units: list[tuple[int, int, int]] = []
    for a, b in sentence_spans(doc.text, *span):
        n = count_tokens(doc.text[a:b])
        if n > max_tokens:
            units.extend(_split_long(doc.text, a, b, max_tokens))
        else:
            units.append((a, b, n))
    return units


def chunk_document(doc: Document, config: ChunkingConfig) -> list[Chunk]:
    windows: list[tuple[int, int]] = []
    for span in doc.spans:
        units = _units(doc, span, config.max_tokens)
        i = 0
        while i < len(units):
            total = units[i][2]
            j = i + 1
            while j < len(units) and total + units[j][2] + 1 <= config.max_tokens:
                total += units[j][2] + 1
                j += 1
            windows.append((units[i][0], units[j - 1][1]))
            if j >= len(units):
                break
            # Step back over whole sentences worth at most `overlap_tokens`, always advancing,
            # and only as far as still leaves room for unit j (else the next window would lie
            # wholly inside this one).
            back, overlap = j, 0
            while (
                back - 1 > i
                and overlap + units[back - 1][2] <= config.overlap_tokens
                and overlap + units[back - 1][2] + units[j][2] + (j - back + 1)
                <= config.max_tokens
            ):
                back -= 1
                overlap += units[back][2]
            i = back
    return [
        Chunk(
            chunk_id=f"{doc.doc_id}:{doc.content_hash[:12]}:{n}",
            doc_id=doc.doc_id,
            source=doc.source,
            ordinal=n,
            start=a,
            end=b,
            text=doc.text[a:b],
            title=doc.title,
            date=doc.date,
        )
        for n, (a, b) in enumerate(windows)
    ]
