"""files → documents. One loader per file type, looked up by extension in a registry.

Every loader returns the text the user will be shown; chunk offsets point into exactly that text.
Each failure is a `LoadError` whose message names the reason (the caller adds the file name).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import LoadError

from .cleaning import content_spans
from .models import Document


@dataclass(frozen=True, slots=True)
class LoadedText:
    text: str
    title: str = ""
    warnings: tuple[str, ...] = ()


Loader = Callable[[bytes], LoadedText]
LOADERS: dict[str, Loader] = {}

# A DOCX is a zip: refuse archives that would inflate past this (zip-bomb guard).
MAX_DOCX_INFLATED = 200 * 1024 * 1024


def loader(*extensions: str) -> Callable[[Loader], Loader]:
    def register(fn: Loader) -> Loader:
        for ext in extensions:
            LOADERS[ext] = fn
        return fn

    return register


def supported(path: Path) -> bool:
    return path.suffix.lower() in LOADERS


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return control > len(sample) * 0.05


# UTF-32 first: its little-endian mark begins with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes) -> tuple[str, tuple[str, ...]]:
    """Decode bytes that should be text; legacy encodings are accepted with a warning."""
    for bom, encoding in _BOMS:
        # UTF-16/32 text ("Unicode" in Windows editors) is full of NUL bytes: not binary.
        if data.startswith(bom):
            try:
                return data.decode(encoding), ()
            except UnicodeDecodeError:
                raise LoadError(
                    f"starts with a {encoding.upper()} byte-order mark but is not valid {encoding.upper()}"
                ) from None
    if _looks_binary(data):
        raise LoadError("binary content, not text (is the extension wrong?)")
    try:
        return data.decode("utf-8-sig"), ()
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    for encoding in ("cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text, (f"not valid UTF-8 (first bad byte at {first_bad}); decoded as {encoding}",)
    raise LoadError("not valid UTF-8 text")  # pragma: no cover - latin-1 always decodes


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


@loader(".txt", ".md", ".markdown", ".text")
def load_plain(data: bytes) -> LoadedText:
    text, warnings = decode_text(data)
    return LoadedText(normalise_newlines(text), warnings=warnings)


_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "head", "form", "button")
_BLOCK_TAGS = (
    "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
    "header", "footer", "blockquote", "pre", "table", "ul", "ol", "dd", "dt", "hr",
)


@loader(".html", ".htm", ".xhtml")
def load_html(data: bytes) -> LoadedText:
    from bs4 import BeautifulSoup

    raw, warnings = decode_text(data)
    try:
        soup = BeautifulSoup(raw, "lxml")
    except Exception as exc:  # lxml raises several types on pathological input
        raise LoadError(f"unreadable HTML ({exc.__class__.__name__})") from exc
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    text = soup.get_text()
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if title and not text.startswith(title):
        text = f"{title}\n\n{text}"
    return LoadedText(text, title=title, warnings=warnings)


@loader(".pdf")
def load_pdf(data: bytes) -> LoadedText:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError("encrypted PDF: decrypt it first")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError) as exc:
        raise LoadError(f"corrupt or unreadable PDF ({exc.__class__.__name__}: {exc})") from exc
    text = normalise_newlines("\n\n".join(p for p in pages if p))
    if not text.strip():
        raise LoadError("PDF has no text layer (scanned images?): run OCR on it first")
    return LoadedText(text, title=str(meta_title).strip())


@loader(".docx")
def load_docx(data: bytes) -> LoadedText:
    import docx

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise LoadError("corrupt DOCX (not a valid zip archive)") from exc
    if inflated > MAX_DOCX_INFLATED:
        raise LoadError(f"DOCX would inflate to {inflated / 1e6:.0f} MB: refused as a zip bomb")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors…
        raise LoadError(f"corrupt DOCX ({exc.__class__.__name__})") from exc
    paragraphs = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                paragraphs.append(" | ".join(cells))
    title = (document.core_properties.title or "").strip()
    return LoadedText(normalise_newlines("\n\n".join(paragraphs)), title=title)


_DATE_PATTERNS = [
    re.compile(r"\b(?:Published|Created|Date|Updated)\s*:\s*([^\n]{4,40})", re.I),
    re.compile(
        r"\b(\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{4})\b"
    ),
    re.compile(
        r"\b((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2},\s+\d{4})\b"
    ),
    re.compile(r"\b(\d{4}-\d{2}-\d{2})\b"),
    re.compile(r"\b(\d{6}Z\s+[A-Z]{3}\s+\d{2})\b"),  # cable date-time group: 150945Z MAY 08
]


def find_date(text: str) -> str:
    head = text[:1500]
    for pattern in _DATE_PATTERNS:
        match = pattern.search(head)
        if match:
            return match.group(1).strip()
    return ""


def find_title(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    for start, end in spans:
        for line in text[start:end].split("\n"):
            line = line.strip()
            if len(line) >= 3 and not line.isdigit():
                return line[:200]
    return ""


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_bytes(path: Path, data: bytes, loader: Loader | None = None) -> LoadedText:
    """`loader` overrides the lookup by extension (the ingest resolves it before handing the file
    to a parse process, so a loader registered at run time is the one used there too)."""
    fn = loader or LOADERS.get(path.suffix.lower())
    if fn is None:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'!r}")
    if not data.strip():
        raise LoadError("empty file")
    loaded = fn(data)
    if not loaded.text.strip():
        raise LoadError("no text found in the file")
    return loaded


def load_document(
    path: Path, data: bytes, *, doc_id: str, source: str, root: str, loader: Loader | None = None
) -> Document:
    """Load and clean one file into a `Document` (raises `LoadError` with the reason)."""
    loaded = load_bytes(path, data, loader)
    spans = content_spans(loaded.text)
    if not spans:
        raise LoadError("nothing but boilerplate in the file")
    return Document(
        doc_id=doc_id,
        source=source,
        path=str(path),
        root=root,
        text=loaded.text,
        content_hash=content_hash(data),
        title=loaded.title or find_title(loaded.text, spans),
        date=find_date(loaded.text),
        spans=spans,
        warnings=loaded.warnings,
    )
