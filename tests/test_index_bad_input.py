"""Hostile and unusual files through the real `dossier ingest` CLI: each bad file is reported by
name with a reason, the good ones are indexed, and nothing already indexed is lost."""

from __future__ import annotations

import io
import json
import os
import random
import re
from pathlib import Path

import pytest

from index.ingest import ingest
from index.reader import IndexReader

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# file name → (a distinctive sentence it holds, a question that should find it first)
GOOD = {
    "orchard.txt": (
        "The orchard irrigation ledger shows that the pear trees received forty litres each.",
        "How much water did the pear trees get in the orchard?",
    ),
    "notes.md": (
        "The beekeeping cooperative moved its hives to the lavender fields in late June.",
        "Where did the beekeeping cooperative move its hives?",
    ),
    "page.html": (
        "Glaciologists measured the retreat of the Rhone glacier at twelve metres a year.",
        "How fast is the Rhone glacier retreating?",
    ),
    "memo.docx": (
        "The lighthouse keeper recorded every passing schooner in a leather-bound logbook.",
        "What did the lighthouse keeper record in his logbook?",
    ),
    "census.pdf": (
        "The quokka census on Rottnest Island counted twelve thousand animals.",
        "How many quokkas live on Rottnest Island?",
    ),
    "legacy.txt": (
        "The basalt quarry near the caf\u00e9 supplied stone for the old cathedral steps.",
        "Where did the stone for the cathedral steps come from?",
    ),
}
FILLER = (
    "Nothing else of note happened that season. The records were filed in the archive. "
    "Later readers found them in good order."
)


def _docx(sentence: str) -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = "Lighthouse memo"
    document.add_heading("Lighthouse memo", level=1)
    document.add_paragraph(sentence)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Schooners"
    table.rows[0].cells[1].text = "forty-two"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _pdf(sentence: str) -> bytes:
    pytest.importorskip("reportlab", reason="reportlab (dev extra) makes the text PDF")
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    c.setTitle("Quokka census")
    y = 800
    for line in ("Quokka census", sentence, FILLER):
        c.drawString(40, y, line)
        y -= 20
    c.save()
    return out.getvalue()


def _blank_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _html(sentence: str) -> bytes:
    return f"""<!doctype html><html><head><title>Glacier survey</title>
<style>body {{ color: red }} .STYLEMARKER {{}}</style>
<script>var SCRIPTMARKER = "do not index me";</script></head>
<body><nav><button>BUTTONMARKER</button></nav>
<h1>Glacier survey</h1><p>{sentence}</p><p>{FILLER}</p>
<noscript>NOSCRIPTMARKER</noscript></body></html>""".encode()


def _make_good(folder: Path) -> None:
    (folder / "orchard.txt").write_text(f"Orchard\n\n{GOOD['orchard.txt'][0]} {FILLER}\n")
    (folder / "notes.md").write_text(f"# Bees\n\n{GOOD['notes.md'][0]}\n\n- {FILLER}\n")
    (folder / "page.html").write_bytes(_html(GOOD["page.html"][0]))
    (folder / "memo.docx").write_bytes(_docx(GOOD["memo.docx"][0]))
    (folder / "census.pdf").write_bytes(_pdf(GOOD["census.pdf"][0]))
    # cp1252, not UTF-8: "é" is the single byte 0xE9 and the quotes are 0x93/0x94.
    legacy = f"Quarry\r\n\r\n{GOOD['legacy.txt'][0]} \u201cSolid\u201d, they said. {FILLER}\r\n"
    (folder / "legacy.txt").write_bytes(legacy.encode("cp1252"))


def _make_bad(folder: Path) -> dict[str, str]:
    """Creates the bad files; returns file name → a regex the failure reason must match."""
    rng = random.Random(5)
    expected: dict[str, str] = {}

    (folder / "empty.txt").write_bytes(b"")
    expected["empty.txt"] = r"empty"

    (folder / "binary.txt").write_bytes(bytes(rng.randrange(256) for _ in range(4096)) + b"\0" * 64)
    expected["binary.txt"] = r"binary"

    with open(folder / "huge.txt", "w", encoding="utf-8") as f:  # 50 MB of real text
        block = ("The archive held many boxes of papers. " * 1000) + "\n"
        for _ in range(50 * 1024 * 1024 // len(block) + 1):
            f.write(block)
    expected["huge.txt"] = r"\d+(\.\d+)? MB, over the .*MB limit"

    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.7\n" + bytes(rng.randrange(256) for _ in range(3000)))
    expected["corrupt.pdf"] = r"corrupt .*PDF"

    (folder / "scan.pdf").write_bytes(_blank_pdf())
    expected["scan.pdf"] = r"no text layer"

    (folder / "corrupt.docx").write_bytes(b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(2000)))
    expected["corrupt.docx"] = r"corrupt DOCX"

    os.symlink(folder, folder / "loop", target_is_directory=True)  # a dir link to its parent
    expected["loop"] = r"symlink loop"

    os.symlink(folder / "does-not-exist.txt", folder / "dangling.txt")
    expected["dangling.txt"] = r"broken symbolic link"

    # A FIFO named like a text file: reading it would block forever.
    os.mkfifo(folder / "pipe.txt")
    expected["pipe.txt"] = r"not a regular file"

    if not IS_ROOT:  # root reads through chmod 000; see test_unreadable_file below
        locked = folder / "locked.txt"
        locked.write_text("Secret text.\n")
        locked.chmod(0)
        expected["locked.txt"] = r"permission denied"
    return expected


@pytest.mark.slow
def test_bad_files_are_reported_and_nothing_is_lost(
    tmp_path: Path, settings, corpus_dir: Path, embedder, dossier_cli,
    check_consistent,
) -> None:
    # An index that already holds the sample corpus.
    ingest([corpus_dir], settings, embedder=embedder)
    before = check_consistent(settings)
    assert len(before.docs) == 5

    folder = tmp_path / "incoming"
    folder.mkdir()
    _make_good(folder)
    expected = _make_bad(folder)

    proc = dossier_cli(["ingest", str(folder), "--json"], settings.home)
    assert proc.returncode == 3, proc.stderr
    out = json.loads(proc.stdout)
    for key in ("added", "updated", "unchanged", "removed", "chunks", "seconds", "failed"):
        assert key in out
    assert out["added"] == len(GOOD), (out, proc.stderr)
    assert (out["updated"], out["removed"]) == (0, 0)

    failed = {Path(f["path"]).name: f["error"] for f in out["failed"]}
    assert len(out["failed"]) == len(expected), out["failed"]
    assert set(failed) == set(expected)
    for name, pattern in expected.items():
        assert re.search(pattern, failed[name]), f"{name}: {failed[name]!r} !~ {pattern!r}"

    # stderr: exactly one line per bad file, naming it; a warning naming the cp1252 file.
    lines = proc.stderr.splitlines()
    failure_lines = [ln for ln in lines if ln.startswith("dossier: failed:")]
    assert len(failure_lines) == len(expected), failure_lines
    for name in expected:
        assert len([ln for ln in failure_lines if f"/{name}:" in ln]) == 1, name
    warnings = [ln for ln in lines if ln.startswith("dossier: warning:")]
    assert len(warnings) == 1 and "legacy.txt" in warnings[0] and "UTF-8" in warnings[0]

    # The previously indexed corpus is untouched, and the three stores agree.
    after = check_consistent(settings)
    for doc_id, doc in before.docs.items():
        assert after.docs[doc_id] == doc
    assert set(before.chroma_ids) <= set(after.chroma_ids)
    sources = {d.source for d in after.docs.values()}
    assert sources == {d.source for d in before.docs.values()} | set(GOOD)
    assert out["chunks"] == len(after.catalog_ids)

    # The good files are searchable, each found first by its own question.
    reader = IndexReader(settings, embedder)
    for name, (sentence, question) in GOOD.items():
        top = reader.dense(question, 3)
        assert top[0].source == name, (question, [p.source for p in top])
        text = reader.document_text(top[0].doc_id)
        assert text is not None and top[0].text == text[top[0].start : top[0].end]
        if name != "census.pdf":  # PDF text extraction may re-flow whitespace
            assert sentence in top[0].text

    # Loader specifics: HTML scripts/styles dropped; cp1252 decoded; DOCX tables kept.
    all_text = "\n".join(t for t, _ in after.chroma_docs.values())
    for marker in ("SCRIPTMARKER", "STYLEMARKER", "NOSCRIPTMARKER", "BUTTONMARKER", "color: red"):
        assert marker not in all_text
    legacy = after.doc_by_source("legacy.txt")
    assert "caf\u00e9" in reader.document_text(legacy.doc_id)
    assert "\u201cSolid\u201d" in reader.document_text(legacy.doc_id)
    assert "\r" not in reader.document_text(legacy.doc_id)
    memo = after.doc_by_source("memo.docx")
    assert memo.title == "Lighthouse memo"
    assert "Schooners | forty-two" in reader.document_text(memo.doc_id)
    assert after.doc_by_source("census.pdf").title == "Quokka census"


@pytest.mark.skipif(IS_ROOT, reason="running as root: chmod 000 does not stop root reading a "
                    "file, so an unreadable file cannot be made honestly")
def test_unreadable_file(tmp_path: Path, settings, embedder) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ok.txt").write_text("A readable sentence about river barges.\n")
    locked = folder / "locked.txt"
    locked.write_text("Secret text.\n")
    locked.chmod(0)
    try:
        report = ingest([folder], settings, embedder=embedder)
    finally:
        locked.chmod(0o644)
    assert report.added == 1
    assert [(Path(f["path"]).name, f["error"]) for f in report.failed] == [
        ("locked.txt", "permission denied: cannot read the file")
    ]


def test_missing_path_is_a_failure_not_a_crash(tmp_path: Path, settings, embedder) -> None:
    report = ingest([tmp_path / "nowhere"], settings, embedder=embedder)
    assert report.added == 0
    assert [f["error"] for f in report.failed] == ["no such file or folder"]
