"""Fuzzing `dossier ingest`: 200+ malformed, hostile and odd files (seeded), through the real CLI.

For every class of input the expected outcome is decided up front and checked exactly:
refused with a reason matching the class, or indexed (some with a "not valid UTF-8" warning) and
findable by a word only that file holds. Plus: exit code 3 (docs/contracts.md: some files failed,
the rest indexed), one `dossier: failed:` line per bad file and nothing else on stderr (no
traceback, no parser chatter), nothing indexed before is touched, and no hang: parsing is
bounded per file (`DOSSIER_FILE_TIMEOUT_S`), with pytest-timeout as the safety net.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import VENV_BIN, cli_env, forget_chroma_clients
from consistency import check_complete, snapshot

from index.ingest import ingest
from index.reader import IndexReader

SEED = 7_2024
# The per-file parse limit for the fuzz run. The well-formed files here parse in milliseconds, so
# they have two orders of magnitude to spare on a loaded machine; the pathological ones need
# minutes to hours (deep HTML is quadratic in bs4, a 15 MB word is worse in the tokenizer).
LIMIT_S = 5

T_LIMIT = rf"^took longer than {LIMIT_S} s to parse; stopped and skipped"
T_MEMORY = r"^needed more than the \d+ MB of memory"
T_BINARY = r"^binary content, not text"
T_EMPTY = r"^empty file$"
T_NO_TEXT = r"^no text found in the file$"
T_BOILERPLATE = r"^nothing but boilerplate"
T_PDF = r"^corrupt or unreadable PDF \("
T_NO_LAYER = r"^PDF has no text layer"
T_ENCRYPTED = r"^encrypted PDF"
T_ZIP = r"^corrupt DOCX \(not a valid zip archive\)$"
T_DOCX = r"^corrupt DOCX \("
T_BOMB = r"would inflate to \d+ MB: refused as a zip bomb$"
T_SIZE = r"^file is \d+\.\d MB, over the 20 MB limit"
T_BAD_UTF16 = r"^starts with a UTF-16 byte-order mark but is not valid UTF-16$"


@dataclass
class Case:
    name: str
    data: bytes
    reason: str | None = None  # a failure is expected, its reason matching this regex
    token: str = ""  # an indexed file: a word only it holds, which keyword search must find there
    warning: bool = False  # an indexed file: one "not valid UTF-8" warning line expected
    sparse_size: int = 0  # written as a sparse file of this size instead of `data`


class Maker:
    """Seeded generators for each class of input."""

    LETTERS = "abcdefghijklmnopqrstuvwxyz"
    ACCENTED = "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿ"

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.tokens: set[str] = set()

    def token(self) -> str:
        while True:
            word = "zq" + "".join(self.rng.choice(self.LETTERS) for _ in range(8))
            if word not in self.tokens:
                self.tokens.add(word)
                return word

    def words(self, n: int, alphabet: str = LETTERS) -> str:
        return " ".join(
            "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(2, 9))) for _ in range(n)
        )

    def sentence(self, token: str) -> str:
        subject = self.rng.choice(["harbour", "orchard", "archive", "quarry", "observatory", "mill"])
        return f"The {subject} ledger names {token} as the keeper of the {self.words(1)} records."

    def binary(self, n: int) -> bytes:
        data = bytearray(self.rng.randbytes(n))
        data[self.rng.randrange(min(n, 8192))] = 0  # a NUL early on: cannot be text
        if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] == b"\0\0\xfe\xff":
            data[0] = ord("x")  # a UTF-16/32 byte-order mark would make it text
        return bytes(data)


def _pdf(lines: list[str], title: str = "") -> bytes:
    pytest.importorskip("reportlab", reason="reportlab (dev extra) makes the text PDFs")
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, invariant=1)
    if title:
        c.setTitle(title)
    for i, line in enumerate(lines):
        c.drawString(40, 800 - 20 * i, line)
    c.save()
    return out.getvalue()


def _blank_pdf(password: str | None = None) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if password:
        writer.encrypt(password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _docx(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _rezip(base: bytes, replace: dict[str, bytes], extra_zero_mb: int = 0) -> bytes:
    """A copy of the DOCX `base` with members replaced, optionally plus a member of zeros."""
    src = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        if extra_zero_mb:
            block = b"\0" * (1 << 20)
            with z.open("word/media/image1.bin", "w", force_zip64=True) as f:
                for _ in range(extra_zero_mb):
                    f.write(block)
    return out.getvalue()


def make_cases(seed: int = SEED) -> list[Case]:
    m = Maker(seed)
    rng = m.rng
    cases: list[Case] = []

    def add(name: str, data: bytes, **kw: object) -> None:
        cases.append(Case(name, data, **kw))  # type: ignore[arg-type]

    # -- well-formed files of every type, two with awkward names ---------------------------
    awkward = {("txt", 0): "naïve résumé 01.txt", ("md", 0): "notes with spaces.md"}
    for ext in ("txt", "md", "html", "docx", "pdf"):
        for i in range(4):
            tok = m.token()
            s = m.sentence(tok)
            if ext == "txt":
                data = f"Field note {i}\n\n{s}\n".encode()
            elif ext == "md":
                data = f"# Note {i}\n\n{s}\n\n- item one\n".encode()
            elif ext == "html":
                data = f"<html><head><title>Page {i}</title></head><body><p>{s}</p></body></html>".encode()
            elif ext == "docx":
                data = _docx([f"Memo {i}", s])
            else:
                data = _pdf([f"Report {i}", s])
            add(awkward.get((ext, i), f"good_{ext}_{i}.{ext}"), data, token=tok)

    # -- random bytes with text and document extensions -----------------------------------
    for i in range(30):
        ext = ("txt", "md", "html")[i % 3]
        add(f"random_{i}.{ext}", m.binary(rng.randint(64, 20000)), reason=T_BINARY)
    for i in range(6):  # no NUL, but control characters throughout
        controls = bytes(b for b in range(1, 32) if b not in (9, 10, 12, 13))
        data = bytes(rng.choice(controls) if rng.random() < 0.3 else rng.choice(b"abc ") for _ in range(2000))
        add(f"controls_{i}.txt", data, reason=T_BINARY)
    for i in range(15):
        data = rng.randbytes(rng.randint(10, 8000))
        add(f"random_{i}.pdf", (b"%PDF-1.7\n" + data) if i % 2 else data, reason=T_PDF)
    for i in range(15):
        data = rng.randbytes(rng.randint(10, 8000))
        add(f"random_{i}.docx", (b"PK\x03\x04" + data) if i % 2 else data, reason=T_ZIP)

    # -- truncated PDFs and DOCX zips (cut before the trailer / central directory) ------------
    good_pdf = _pdf(["Truncated report", "This text must never be indexed from a broken file."])
    good_docx = _docx(["Truncated memo", "This text must never be indexed from a broken file."])
    for i in range(20):
        add(f"truncated_{i}.pdf", good_pdf[: rng.randrange(1, int(len(good_pdf) * 0.9))], reason=T_PDF)
    for i in range(20):
        add(f"truncated_{i}.docx", good_docx[: rng.randrange(1, int(len(good_docx) * 0.9))], reason=T_ZIP)

    # -- other broken or empty documents ---------------------------------------------------
    for i in range(2):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("hello.txt", m.words(20))
        add(f"plain_zip_{i}.docx", out.getvalue(), reason=T_DOCX)
    add("bad_xml.docx", _rezip(good_docx, {"word/document.xml": b"<w:document><unclosed"}), reason=T_DOCX)
    add("empty_body.docx", _docx([]), reason=T_NO_TEXT)
    add("bomb.docx", _rezip(good_docx, {}, extra_zero_mb=260), reason=T_BOMB)
    # Under the inflate guard, but 60 MB of tiny paragraphs: stopped by the time or memory limit.
    para = b"<w:p><w:r><w:t>bomb bomb bomb</w:t></w:r></w:p>"
    head, tail = zipfile.ZipFile(io.BytesIO(good_docx)).read("word/document.xml").split(b"<w:body>")
    heavy = head + b"<w:body>" + para * (60_000_000 // len(para)) + tail
    add("heavy.docx", _rezip(good_docx, {"word/document.xml": heavy}), reason=f"{T_LIMIT}|{T_MEMORY}")
    for i in range(2):
        add(f"scan_{i}.pdf", _blank_pdf(), reason=T_NO_LAYER)
        add(f"locked_{i}.pdf", _blank_pdf(password="secret"), reason=T_ENCRYPTED)
    for i, ext in enumerate(("txt", "md", "html", "pdf", "docx", "txt")):
        add(f"empty_{i}.{ext}", b"" if i % 2 == 0 else b" \n\t \r\n ", reason=T_EMPTY)
    for i in range(3):
        add(f"furniture_{i}.txt", b"Share\nTweet\nPrint\nEmail\n" + str(rng.randint(1, 999)).encode() + b"\n",
            reason=T_BOILERPLATE)
        add(f"script_only_{i}.html", b"<html><head><style>p{color:red}</style><script>var a = 1;</script>"
            b"</head><body><script>document.write('x')</script><noscript></noscript></body></html>",
            reason=T_NO_TEXT)

    # -- huge single lines, oversize files -------------------------------------------------
    add("one_word_15mb.txt", b"abcdefghij" * 1_500_000, reason=T_LIMIT)  # one 15 MB "word"
    add("oversize.txt", b"", reason=T_SIZE, sparse_size=21 * 1024 * 1024)
    add("oversize.pdf", b"", reason=T_SIZE, sparse_size=25 * 1024 * 1024)
    for i in range(2):  # a long line with spaces but no sentence end: cut at whitespace, indexed
        tok = m.token()
        add(f"long_line_{i}.txt", f"{m.words(600)} {tok} {m.words(600)}".encode(), token=tok)

    # -- encodings -------------------------------------------------------------------------
    for i in range(15):  # Latin-1 / cp1252 text that is not valid UTF-8: indexed, with a warning
        tok = m.token()
        data = f"{m.words(15, m.LETTERS + m.ACCENTED)} {tok} {m.words(15, m.LETTERS + m.ACCENTED)}."
        raw = data.encode("latin-1")
        try:
            raw.decode("utf-8")
            raw += " \u00e9t\u00e9".encode("latin-1")
        except UnicodeDecodeError:
            pass
        add(f"latin1_{i}.{('txt', 'md', 'html')[i % 3]}", raw, token=tok, warning=True)
    for i in range(10):  # UTF-8 and cp1252 in one file
        tok = m.token()
        raw = f"Caf\u00e9 r\u00e9sum\u00e9 {tok} first part.\n".encode() + \
            "Second part, na\u00efve \u201cquoted\u201d \u2013 dash.\n".encode("cp1252")
        add(f"mixed_{i}.txt", raw, token=tok, warning=True)
    for i, (enc, bom) in enumerate((("utf-16", b""), ("utf-16-be", b"\xfe\xff"), ("utf-32", b""),
                                    ("utf-16-le", b"\xff\xfe"))):
        tok = m.token()
        text = f"{m.sentence(tok)} \u00c9t\u00e9 \u4e2d\u6587.\n"
        add(f"unicode_{i}.txt", bom + text.encode(enc), token=tok)
    add("bad_utf16_0.txt", b"\xff\xfe" + "odd".encode("utf-16-le") + b"\x00", reason=T_BAD_UTF16)
    add("bad_utf16_1.txt", b"\xfe\xff" + b"\x00a\x00", reason=T_BAD_UTF16)

    # -- NUL bytes -------------------------------------------------------------------------
    for i in range(10):  # in the first 8 KiB: refused as binary
        text = m.words(rng.randint(5, 300)).encode()
        pos = rng.randrange(len(text))
        add(f"nul_early_{i}.txt", text[:pos] + b"\0" + text[pos:], reason=T_BINARY)
    for i in range(2):  # only after 8 KiB of (blank) text: indexed, the NUL dropped
        tok = m.token()
        add(f"nul_late_{i}.txt", b"\n" * 8300 + f"{m.sentence(tok)}\0 And more.\n".encode(), token=tok)

    # -- HTML: deep nesting, tag soup --------------------------------------------------------
    add("deep_100k.html", b"<html><body>" + b"<div>" * 100_000 + b"Deep." + b"</div>" * 100_000,
        reason=T_LIMIT)
    for i in range(2):
        tok = m.token()
        add(f"deep_200_{i}.html", b"<div>" * 200 + m.sentence(tok).encode() + b"</div>" * 200, token=tok)
    for i in range(5):
        tok = m.token()
        parts = []
        for _ in range(60):
            tag = rng.choice(["div", "p", "b", "i", "span", "td", "li", "a", "table", "font"])
            parts.append(rng.choice([f"<{tag}>", f"</{tag}>", f"<{tag} class='x'>", m.words(3)]))
        parts.insert(rng.randrange(len(parts)), f" <p>{m.sentence(tok)}</p> ")
        add(f"soup_{i}.html", "".join(parts).encode(), token=tok)
    return cases


def write_cases(folder: Path, cases: list[Case]) -> None:
    folder.mkdir(parents=True)
    for case in cases:
        path = folder / case.name
        if case.sparse_size:
            with path.open("wb") as f:
                f.truncate(case.sparse_size)
        else:
            path.write_bytes(case.data)


def run_cli(args: list[str], home: Path, timeout: float, **env: str) -> subprocess.CompletedProcess:
    forget_chroma_clients()
    return subprocess.run([str(VENV_BIN / "dossier"), *args], env=cli_env(home, **env), cwd=home.parent,
                          capture_output=True, text=True, timeout=timeout)


def check_stderr(stderr: str) -> tuple[list[str], list[str]]:
    """Only `dossier:` lines on stderr (no traceback, no parser chatter); (failures, warnings)."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert "Traceback" not in stderr, stderr[-3000:]
    stray = [ln for ln in lines if not ln.startswith(("dossier: failed: ", "dossier: warning: "))]
    assert not stray, f"unexpected stderr lines: {stray[:5]}"
    return ([ln for ln in lines if ln.startswith("dossier: failed: ")],
            [ln for ln in lines if ln.startswith("dossier: warning: ")])


def test_generator_is_seeded_and_big_enough() -> None:
    a, b = make_cases(), make_cases()
    # Same inputs from the same seed (DOCX/PDF files embed the clock: compare their sizes).
    def key(c: Case) -> tuple:
        text = c.name.endswith((".txt", ".md", ".html"))
        return c.name, c.reason, c.token, c.warning, c.data if text else len(c.data)
    assert [key(c) for c in a] == [key(c) for c in b]
    assert len(a) >= 200 and len({c.name for c in a}) == len(a)
    assert sum(c.reason is None for c in a) >= 40  # plenty must index, not only fail


@pytest.mark.timeout(900)
@pytest.mark.slow
def test_fuzzed_files_through_the_cli(tmp_path: Path, settings, corpus_dir: Path, embedder) -> None:
    ingest([corpus_dir], settings, embedder=embedder)  # an index that already holds something
    before = snapshot(settings)
    corpus = {p: p.read_bytes() for p in sorted(corpus_dir.iterdir())}

    cases = make_cases()
    folder = tmp_path / "incoming"
    write_cases(folder, cases)
    bad = {c.name: c for c in cases if c.reason}
    good = {c.name: c for c in cases if not c.reason}

    run = run_cli(["ingest", str(folder), "--json"], settings.home, timeout=600,
                  DOSSIER_FILE_TIMEOUT_S=str(LIMIT_S))
    assert run.returncode == 3, run.stderr[-3000:]
    out = json.loads(run.stdout)

    # Exactly the bad files failed, each once, each for its class's reason.
    reasons: dict[str, list[str]] = {}
    for f in out["failed"]:
        reasons.setdefault(Path(f["path"]).name, []).append(f["error"])
    assert set(reasons) == set(bad), (
        f"unexpectedly failed: {sorted(set(reasons) - set(bad))}; "
        f"unexpectedly indexed: {sorted(set(bad) - set(reasons))}")
    wrong = {n: r for n, r in reasons.items() if len(r) != 1 or not re.search(bad[n].reason, r[0])}
    assert not wrong, {n: (r, bad[n].reason) for n, r in wrong.items()}

    failures, warnings = check_stderr(run.stderr)
    assert len(failures) == len(bad)
    for name in bad:
        prefix = f"dossier: failed: {folder / name}: "
        assert sum(ln.startswith(prefix) for ln in failures) == 1, name
    warned = {c.name for c in good.values() if c.warning}
    assert len(warnings) == len(warned)
    for name in warned:
        prefix = f"dossier: warning: {folder / name}: not valid UTF-8"
        assert sum(ln.startswith(prefix) for ln in warnings) == 1, name

    # Every good file indexed; what was indexed before is untouched; the three stores agree.
    assert (out["added"], out["updated"], out["removed"]) == (len(good), 0, 0)
    after = check_complete(settings, {**corpus, **{folder / n: c.data for n, c in good.items()}})
    for doc_id, doc in before.docs.items():
        assert after.docs[doc_id] == doc
    assert set(before.chunks) <= set(after.chroma)
    assert out["chunks"] == len(after.chunks)

    # Searchable: each indexed file is found first by the word only it holds.
    reader = IndexReader(settings, embedder)
    for name, case in good.items():
        top = reader.keyword(case.token, 3)
        assert top and top[0].source == name, (name, case.token, [p.source for p in top])
        assert case.token in top[0].text
        text = reader.document_text(top[0].doc_id)
        assert text is not None and top[0].text == text[top[0].start:top[0].end]
        assert "\0" not in text
    for name in ("good_pdf_0.pdf", "good_docx_1.docx", "good_html_2.html"):  # and by meaning
        doc = next(d for d in after.docs.values() if d["source"] == name)
        sentence = next(line for line in doc["text"].splitlines() if "ledger" in line)
        assert reader.dense(sentence, 1)[0].source == name


# -- parsers that hang, ignore SIGTERM, crash or eat memory, registered in a real CLI run ------

MISBEHAVING = '''
"""Loaders for test-only extensions; imported by the CLI child and, by reference, by the parse
processes (the ingest hands them the loader it resolved)."""
import os
import signal
import time

from index.loaders import LoadedText, loader


@loader(".hang")
def hang(data: bytes) -> LoadedText:
    time.sleep(10**6)
    raise AssertionError("unreachable")


@loader(".stubborn")
def stubborn(data: bytes) -> LoadedText:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only SIGKILL can stop this one
    while True:
        pass


@loader(".crash")
def crash(data: bytes) -> LoadedText:
    os.abort()


@loader(".greedy")
def greedy(data: bytes) -> LoadedText:
    hoard = []
    while True:
        hoard.append(bytearray(64 * 1024 * 1024))
'''

CHILD = '''
import sys
import misbehaving_loaders  # registers .hang .stubborn .crash .greedy
from dossier.cli import main
sys.exit(main(["ingest", sys.argv[1], "--json"]))
'''


@pytest.mark.timeout(600)
@pytest.mark.slow
def test_hanging_crashing_and_greedy_parsers_are_cut_off(tmp_path: Path, settings, embedder) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "misbehaving_loaders.py").write_text(textwrap.dedent(MISBEHAVING))
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("a.hang", "b.hang", "c.stubborn", "d.crash", "e.greedy"):
        (folder / name).write_bytes(b"whatever is inside")
    good = {f"ok_{i}.txt": f"Good note {i}\n\nThe lantern inventory {i} lists zqgood{i}word.\n"
            for i in range(3)}
    for name, text in good.items():
        (folder / name).write_text(text)

    forget_chroma_clients()
    env = cli_env(settings.home, DOSSIER_FILE_TIMEOUT_S="2", DOSSIER_LOAD_MEMORY_MB="768",
                  PYTHONPATH=os.pathsep.join([str(plugins), os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, "-c", CHILD, str(folder)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=400)
    assert run.returncode == 3, run.stderr[-3000:]
    out = json.loads(run.stdout)
    failed = {Path(f["path"]).name: f["error"] for f in out["failed"]}
    limit = r"^took longer than 2 s to parse; stopped and skipped \(raise DOSSIER_FILE_TIMEOUT_S"
    expected = {
        "a.hang": limit,
        "b.hang": limit,
        "c.stubborn": limit,
        "d.crash": r"^the parser crashed on this file \(killed by SIGABRT\); skipped$",
        "e.greedy": r"^needed more than the 768 MB of memory .*\(raise DOSSIER_LOAD_MEMORY_MB",
    }
    assert set(failed) == set(expected), failed
    for name, pattern in expected.items():
        assert re.search(pattern, failed[name]), (name, failed[name])
    failures, _ = check_stderr(run.stderr)
    assert len(failures) == len(expected)

    # The good files landed, whole, and are searchable.
    assert out["added"] == len(good)
    check_complete(settings, {folder / n: t.encode() for n, t in good.items()})
    reader = IndexReader(settings, embedder)
    for i, name in enumerate(good):
        assert reader.keyword(f"zqgood{i}word", 1)[0].source == name
