"""HTML and Markdown for the chat UI, built from untrusted document text.

Every piece of document (or answer) text goes through `html.escape` (HTML panels) or
`md_escape` (chat messages, which Gradio renders as Markdown) before it reaches the page, so a
document holding `<script>`, `<img onerror=…>`, `javascript:` links or Markdown images shows up as
inert text. Highlights are built from offsets around escaped substrings, never by inserting
markup into raw text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from index.models import Passage
from qa.models import Answer, Citation

# Everything Markdown (and Gradio's LaTeX) could read as syntax; a backslash makes it literal.
_MD_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:=^@])")
_MARKER = re.compile(r"\[(\d{1,3})\]")
# A viewer never renders more than this many characters on either side of the passage.
VIEW_WINDOW = 40_000

DocText = Callable[[str], "str | None"]


def md_escape(text: str) -> str:
    """Text → Markdown that renders as exactly that text (no HTML, links, images or math)."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_PUNCT.sub(r"\\\1", out)


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def answer_markdown(text: str, cited: set[int] | None = None) -> str:
    """An answer's prose for the chat: escaped, with its [n] markers as small citation chips; an
    open question's points (one a line, "- …") stay a Markdown list."""
    lines = text.split("\n")
    if len(lines) > 1 and all(line.startswith("- ") for line in lines):
        return "\n".join("- " + _answer_line(line[2:], cited) for line in lines)
    return _answer_line(text, cited)


def _answer_line(text: str, cited: set[int] | None) -> str:
    parts: list[str] = []
    pos = 0
    for m in _MARKER.finditer(text):
        n = int(m.group(1))
        if cited is not None and n not in cited:
            continue
        parts.append(md_escape(text[pos : m.start()]))
        parts.append(f'<sup class="dz-ref">{n}</sup>')
        pos = m.end()
    parts.append(md_escape(text[pos:]))
    return "".join(parts)


# -- pieces -------------------------------------------------------------------------------------


def highlight(text: str, base: int, start: int | None, end: int | None) -> str:
    """Escaped `text` (which starts at document offset `base`) with [start, end) in <mark>."""
    if start is None or end is None:
        return esc(text)
    s = max(0, min(len(text), start - base))
    e = max(s, min(len(text), end - base))
    if e <= s:
        return esc(text)
    return f"{esc(text[:s])}<mark>{esc(text[s:e])}</mark>{esc(text[e:])}"


def excerpt(text: str, base: int, start: int | None, end: int | None, context: int = 160) -> str:
    """The supporting sentence with some context either side (escaped, sentence in <mark>);
    without one, the start of the passage."""
    if start is None or end is None or end <= start:
        cut = text[: 2 * context + 120]
        return esc(cut) + ("…" if len(cut) < len(text) else "")
    s = max(0, min(len(text), start - base))
    e = max(s, min(len(text), end - base))
    lo = max(0, s - context)
    hi = min(len(text), e + context)
    if lo > 0:
        space = text.find(" ", lo, s)
        lo = space + 1 if space != -1 else lo
    if hi < len(text):
        space = text.rfind(" ", e, hi)
        hi = space if space != -1 else hi
    head = "…" if lo > 0 else ""
    tail = "…" if hi < len(text) else ""
    return (f"{head}{esc(text[lo:s])}<mark>{esc(text[s:e])}</mark>{esc(text[e:hi])}{tail}")


def line_span(doc: str | None, start: int, end: int) -> str:
    if not doc:
        return ""
    first = doc.count("\n", 0, start) + 1
    last = first + doc.count("\n", start, max(start, end - 1))
    return f"line {first}" if first == last else f"lines {first}–{last}"


def position(doc: str | None, start: int, end: int) -> str:
    lines = line_span(doc, start, end)
    chars = f"chars {start:,}–{end:,}"
    return f"{lines} · {chars}" if lines else chars


@dataclass(frozen=True, slots=True)
class Shown:
    """A passage the sources panel lists: a citation, or a closest passage after an abstention."""

    key: str  # "c1" (citation n=1) or "p0" (closest passage 0)
    label: str
    passage: Passage
    supported: bool | None  # None: not a citation
    support_start: int | None = None
    support_end: int | None = None


def shown_passages(answer: Answer) -> list[Shown]:
    if answer.citations:
        return [_shown_citation(c) for c in answer.citations]
    return [Shown(f"p{i}", "", p, None) for i, p in enumerate(answer.closest)]


def _shown_citation(c: Citation) -> Shown:
    return Shown(f"c{c.n}", str(c.n), c.passage, c.supported, c.support_start, c.support_end)


def find_shown(answer: Answer, key: str) -> Shown | None:
    return next((s for s in shown_passages(answer) if s.key == key), None)


# -- panels -------------------------------------------------------------------------------------

SOURCES_EMPTY = (
    '<div class="dz-empty"><p>Ask a question: the passages the answer cites appear here, with the '
    "supporting sentence highlighted. Click one to read it in its document.</p></div>"
)
SOURCES_PENDING = '<div class="dz-empty dz-pending"><p>Searching your documents…</p></div>'
VIEWER_EMPTY = (
    '<div class="dz-empty"><p>Click a source to open the whole document at the cited passage.</p>'
    "</div>"
)


def sources_html(answer: Answer | None, turn: int, doc_text: DocText, active: str = "") -> str:
    if answer is None:
        return SOURCES_EMPTY
    items = shown_passages(answer)
    if not items:
        return '<div class="dz-empty"><p>No passage was relevant enough to show.</p></div>'
    if answer.citations:
        head = f"{len(items)} cited passage{'s' if len(items) != 1 else ''}"
        note = ""
    else:
        head = "Closest passages"
        note = ('<p class="dz-note">Nothing here answers the question; these were the nearest '
                "matches.</p>")
    cards = [_card(s, turn, doc_text(s.passage.doc_id), s.key == active) for s in items]
    return (f'<div class="dz-sources" data-turn="{turn}"><div class="dz-panel-title">{head}</div>'
            f"{note}{''.join(cards)}</div>")


def _card(s: Shown, turn: int, doc: str | None, active: bool) -> str:
    p = s.passage
    if s.supported is None:
        badge = ""
    elif s.supported:
        badge = ('<span class="dz-badge dz-ok" title="The verifier found that this passage supports '
                 'the claim">✓ supported</span>')
    else:
        badge = ('<span class="dz-badge dz-warn" title="The verifier could not confirm that this '
                 'passage supports the claim">⚠ support not confirmed</span>')
    num = f'<span class="dz-num">{esc(s.label)}</span>' if s.label else ""
    title = f'<div class="dz-card-title">{esc(p.title)}</div>' if p.title else ""
    body = excerpt(p.text, p.start, s.support_start, s.support_end)
    cls = "dz-card dz-active" if active else "dz-card"
    return (
        f'<div class="{cls}" role="button" tabindex="0" data-key="{esc(s.key)}" data-turn="{turn}" '
        f'aria-label="Open {esc(p.source)} at this passage">'
        f'<div class="dz-card-head">{num}<span class="dz-src">{esc(p.source)}</span>{badge}</div>'
        f'{title}<div class="dz-pos">{esc(position(doc, p.start, p.end))}</div>'
        f'<div class="dz-passage-text">{body}</div>'
        f'<div class="dz-open">Open in document →</div></div>'
    )


def viewer_html(s: Shown, doc: str | None, title: str = "") -> str:
    p = s.passage
    name = esc(p.source)
    if doc is None:
        return (f'<div class="dz-viewer"><div class="dz-viewer-head"><span class="dz-src">{name}</span>'
                '</div><div class="dz-empty"><p>This document is no longer in the index.</p></div></div>')
    start, end = max(0, min(p.start, len(doc))), max(0, min(p.end, len(doc)))
    lo, hi = max(0, start - VIEW_WINDOW), min(len(doc), end + VIEW_WINDOW)
    before = esc(doc[lo:start])
    passage = highlight(doc[start:end], start, s.support_start, s.support_end)
    after = esc(doc[end:hi])
    cut_top = f'<div class="dz-cut">… {lo:,} characters above not shown</div>' if lo else ""
    cut_end = (f'<div class="dz-cut">… {len(doc) - hi:,} characters below not shown</div>'
               if hi < len(doc) else "")
    label = f"[{esc(s.label)}] " if s.label else ""
    if s.supported is None:
        badge = ""
    elif s.supported:
        badge = '<span class="dz-badge dz-ok">✓ supported</span>'
    else:
        badge = '<span class="dz-badge dz-warn">⚠ support not confirmed</span>'
    heading = title or p.title
    sub = f'<div class="dz-viewer-title">{esc(heading)}</div>' if heading else ""
    return (
        f'<div class="dz-viewer" data-source="{name}">'
        f'<div class="dz-viewer-head"><span class="dz-src">{label}{name}</span>{badge}'
        f'<span class="dz-pos">{esc(position(doc, start, end))} of {len(doc):,}</span></div>{sub}'
        f'<div class="dz-doc-body">{cut_top}<span class="dz-doc">{before}'
        f'<span class="dz-passage" id="dz-passage">{passage}</span>{after}</span>{cut_end}</div></div>'
    )


BRAND = (
    '<div class="dz-brand"><span class="dz-logo">D</span><div><div class="dz-name">Dossier</div>'
    '<div class="dz-tag">Answers from your documents — every claim cited, one click to check.</div>'
    "</div></div>"
)


def header_html(n_docs: int | None, n_chunks: int, backend: str) -> str:
    """n_docs None: not known yet (the page is loading)."""
    if n_docs is None:
        return f'<div class="dz-header">{BRAND}<div class="dz-pills"></div></div>'
    if n_docs == 0:
        idx = '<span class="dz-pill dz-pill-warn">No documents indexed yet</span>'
    else:
        word = "document" if n_docs == 1 else "documents"
        idx = f'<span class="dz-pill">{n_docs:,} {word} · {n_chunks:,} passages</span>'
    pills = idx + f'<span class="dz-pill dz-pill-muted">answers: {esc(backend)}</span>'
    return f'<div class="dz-header">{BRAND}<div class="dz-pills">{pills}</div></div>'


def upload_report_html(rows: list[tuple[str, str, str]]) -> str:
    """rows: (file name, "ok" | "error" | "same", message)."""
    if not rows:
        return ""
    items = []
    for name, kind, message in rows:
        icon = {"ok": "✓", "same": "•", "error": "✕"}.get(kind, "•")
        items.append(f'<li class="dz-up-{esc(kind)}"><span class="dz-up-icon">{icon}</span>'
                     f'<span class="dz-up-name">{esc(name)}</span>'
                     f'<span class="dz-up-msg">{esc(message)}</span></li>')
    return f'<ul class="dz-upload-report">{"".join(items)}</ul>'


def notice_html(message: str, kind: str = "info") -> str:
    return f'<div class="dz-notice dz-notice-{esc(kind)}">{esc(message)}</div>'
