"""Files uploaded through the UI: checked, renamed safely, stored under DOSSIER_HOME, indexed."""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import DossierError
from core.settings import Settings
from index.embedder import Embedder

ALLOWED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+-]+")
MAX_NAME = 120


def safe_name(name: str) -> str:
    """A file name that cannot leave the uploads folder: no directories, no leading dots, no
    control or shell-special characters; the suffix is kept (lower-cased)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem.strip(" ._") or "upload"
    suffix = suffix.lower()
    room = MAX_NAME - len(suffix) - 1
    return f"{stem[:room]}.{suffix}" if suffix else stem[:MAX_NAME]


@dataclass
class UploadResult:
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (name, kind, message)
    stored: list[Path] = field(default_factory=list)
    error: str | None = None  # the whole batch failed (index busy, backend down)
    summary: str = ""

    @property
    def ok(self) -> int:
        return sum(1 for _, kind, _ in self.rows if kind == "ok")

    @property
    def failed(self) -> int:
        return sum(1 for _, kind, _ in self.rows if kind == "error")


def check_upload(path: Path, original: str, max_mb: float) -> str | None:
    """Why this upload is refused, or None."""
    suffix = Path(original).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        return f"unsupported file type {suffix or '(none)'}: use {' '.join(ALLOWED_SUFFIXES)}"
    try:
        size = path.stat().st_size
    except OSError:
        return "the upload could not be read"
    if size > max_mb * 1024 * 1024:
        return f"too large ({size / 1024 / 1024:.1f} MB; the limit is {max_mb:g} MB)"
    if size == 0:
        return "the file is empty"
    return None


Progress = Callable[[int, int, str], None]


def store_and_index(
    files: Sequence[str | Path],
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> UploadResult:
    from index.ingest import ingest

    result = UploadResult()
    folder = Path(os.path.abspath(settings.uploads_path))
    folder.mkdir(parents=True, exist_ok=True)
    targets: dict[str, str] = {}  # stored path → name shown to the user
    for f in files:
        src = Path(f)
        shown = src.name
        reason = check_upload(src, shown, settings.upload_max_mb)
        if reason:
            result.rows.append((shown, "error", reason))
            continue
        dest = folder / safe_name(shown)
        # Belt and braces: the resolved target must sit directly in the uploads folder.
        if dest.resolve().parent != folder.resolve():
            result.rows.append((shown, "error", "invalid file name"))
            continue
        tmp = dest.with_name(f".{dest.name}.part")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        targets[str(dest)] = dest.name
        result.stored.append(dest)
    if not result.stored:
        return result
    try:
        report = ingest(result.stored, settings, embedder=embedder, progress=progress)
    except DossierError as exc:
        result.error = str(exc)
        return result
    failed = {os.path.abspath(item["path"]): item.get("error", "could not be indexed")
              for item in report.failed}
    warned = {os.path.abspath(item["path"]): item.get("warning", "") for item in report.warnings}
    quarantined = {os.path.abspath(item["path"]): item["reason"] for item in report.quarantined}
    for dest in result.stored:
        name = targets[str(dest)]
        if str(dest) in failed:
            result.rows.append((name, "error", failed[str(dest)]))
            dest.unlink(missing_ok=True)
        elif str(dest) in quarantined:
            result.rows.append((name, "quarantined", "kept out of answers: it holds instructions "
                                f"to the assistant — {quarantined[str(dest)]}"))
        elif warned.get(str(dest)):
            result.rows.append((name, "ok", f"indexed (note: {warned[str(dest)]})"))
        else:
            result.rows.append((name, "ok", "indexed"))
    result.summary = (f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged"
                      + (f", {len(failed)} failed" if failed else ""))
    return result


def remove_document(settings: Settings, doc_id: str, path: str, embedder: Embedder | None = None) -> None:
    """Drop one document from the index (under the write lock); an uploaded copy is deleted too."""
    from index.ingest import Ingestor, lock_home

    lock = lock_home(settings)
    try:
        ingestor = Ingestor(settings, embedder)
        try:
            ingestor.remove_documents([doc_id])
        finally:
            ingestor.close()
    finally:
        lock.release()
    uploads = settings.uploads_path.resolve()
    p = Path(path)
    try:
        if p.resolve().parent == uploads:
            p.unlink(missing_ok=True)
    except OSError:
        pass
