"""The Gradio chat UI: `dossier ui` → `launch(settings, ...)`; tests use `build_app(settings)`.

Process-wide objects (the embedder, one index reader, the LLMs) are shared by all sessions and hold
no per-user state. Everything that belongs to one user — the chat, its answers and citations, the
settings chosen in the panel — lives in `gr.State` and the session's own component values, and each
request answers with its own settings copy (`settings.model_copy(update=...)`).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from core.errors import (
    BackendError,
    ConfigError,
    DossierError,
    IndexBusyError,
    NoIndexError,
    UsageError,
)
from core.settings import Settings
from index.catalog import Catalog, DocRecord
from index.reader import IndexReader
from qa.assistant import Assistant
from qa.models import Answer, Turn

from . import render
from .uploads import ALLOWED_SUFFIXES, remove_document, store_and_index

LOG = logging.getLogger("dossier.ui")

BACKENDS: list[tuple[str, str]] = [
    ("Qwen2.5 1.5B, offline (reads, then verified)", "qwen"),
    ("Tiny bundled model (SmolLM2-135M, offline)", "local"),
    ("OpenAI-compatible server", "openai"),
    ("Ollama", "ollama"),
    ("Extractive: quotes only, no LLM", "extractive"),
]
# Requests answered at once; more wait in the queue. Each one holds a worker thread.
CONCURRENCY = 4
MAX_HISTORY_TURNS = 6

AssistantFactory = Callable[[Settings], Assistant]


# -- process-wide, shared by every session -----------------------------------------------------


class Engine:
    """The embedder and one index reader for this DOSSIER_HOME, created on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._embedder: Any = None
        self._reader: IndexReader | None = None
        self._catalog: Catalog | None = None

    @property
    def embedder(self) -> Any:
        with self._lock:
            if self._embedder is None:
                from index.embedder import make_embedder

                self._embedder = make_embedder(self.settings)
            return self._embedder

    def reader(self) -> IndexReader:
        embedder = self.embedder
        with self._lock:
            if self._reader is None:
                self._reader = IndexReader(self.settings, embedder)
            return self._reader

    def invalidate(self) -> None:
        """After a write: the next request opens the index afresh."""
        with self._lock:
            self._reader = None

    def catalog(self) -> Catalog | None:
        """The manifest, for listing and reading documents (no model needed)."""
        with self._lock:
            if self._catalog is None and self.settings.catalog_path.exists():
                self._catalog = Catalog(self.settings.catalog_path)
            return self._catalog

    def documents(self) -> list[DocRecord]:
        catalog = self.catalog()
        if catalog is None:
            return []
        docs = [d for d in catalog.documents() if d.state == "done"]
        return sorted(docs, key=lambda d: d.source.lower())

    def document_text(self, doc_id: str) -> str | None:
        catalog = self.catalog()
        return None if catalog is None else catalog.document_text(doc_id)

    def assistant(self, settings: Settings) -> Assistant:
        return _SharedAssistant(settings, self)


class _SharedAssistant(Assistant):
    """An Assistant with this request's settings that reads through the engine's shared reader."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        super().__init__(settings, embedder=engine.embedder)
        self._engine = engine

    @property
    def reader(self) -> IndexReader:  # type: ignore[override]
        return self._engine.reader()


# -- messages -----------------------------------------------------------------------------------


def friendly_error(exc: BaseException) -> str:
    """A readable one-paragraph message for the chat; never a stack trace."""
    if isinstance(exc, NoIndexError):
        return ("There are no documents in the index yet. Add some in the Documents tab "
                "(or run `dossier ingest PATH`), then ask again.")
    if isinstance(exc, BackendError):
        return (f"The answer backend is not available: {exc}. Choose another backend in "
                "Settings (Extractive always works offline) or start the server and ask again.")
    if isinstance(exc, ConfigError):
        return f"Configuration problem: {exc}"
    if isinstance(exc, IndexBusyError):
        return str(exc)
    if isinstance(exc, DossierError):
        return str(exc)
    return (f"Something went wrong ({exc.__class__.__name__}). "
            "The details are in the server log.")


def new_session() -> dict[str, Any]:
    return {"exchanges": [], "shown": None}


def _history(exchanges: list[dict[str, Any]]) -> list[Turn]:
    turns = []
    for ex in exchanges:
        a: Answer | None = ex.get("answer")
        if a is not None:
            turns.append(Turn(question=ex["question"], standalone=a.standalone_question,
                              answer=a.answer))
    return turns[-MAX_HISTORY_TURNS:]


def _shown(ex: dict[str, Any]) -> Answer | None:
    """What a turn shows: its answer, or the quote while the model reads."""
    return ex.get("answer") or ex.get("quote")


def _assistant_content(ex: dict[str, Any], previous: str | None) -> str:
    if ex.get("error"):
        return f"⚠️ **Could not answer.** {render.md_escape(ex['error'])}"
    a: Answer | None = ex.get("answer")
    if a is None:
        quote: Answer | None = ex.get("quote")
        if quote is not None:
            # The evidence engine's quote at once, marked as such; the model's answer replaces it
            # only after every sentence of it is verified (no draft text is shown and taken back).
            return ("*Quoted from the documents while the model reads them…*\n\n"
                    + render.answer_markdown(quote.answer, {c.n for c in quote.citations}) + " ▍")
        if ex.get("reading"):
            return "*Reading the passages…*"
        return "*Searching your documents…*"
    parts = []
    if a.abstained:
        parts.append(render.md_escape(a.answer))
        if a.closest:
            parts.append("*The closest passages are listed under Sources, for you to check.*")
    else:
        parts.append(render.answer_markdown(a.answer, {c.n for c in a.citations}))
        if a.reader == "llm":
            parts.append("*The model's answer, each sentence checked against the passage it cites.*")
        elif (a.reader == "rules" and "quote" in a.judgements
              and (a.readings.get("llm") or {}).get("declined")):
            parts.append("*A quote from the documents: the model found no answer of its own, and "
                         "judged that this passage answers.*")
    if previous and a.standalone_question and a.standalone_question.strip() != ex["question"].strip():
        parts.append(f"*↳ Read as a follow-up to: “{render.md_escape(previous)}”*")
    return "\n\n".join(parts)


def chat_messages(exchanges: list[dict[str, Any]]) -> list[dict[str, str]]:
    msgs: list[dict[str, str]] = []
    previous: str | None = None
    for ex in exchanges:
        msgs.append({"role": "user", "content": render.md_escape(ex["question"])})
        msgs.append({"role": "assistant", "content": _assistant_content(ex, previous)})
        if ex.get("answer") is not None:
            previous = ex["question"]
    return msgs


# -- the controller: every handler, testable without a browser ---------------------------------


class DossierUI:
    def __init__(self, settings: Settings, assistant_factory: AssistantFactory | None = None) -> None:
        self.settings = settings
        self.engine = Engine(settings)
        self.factory: AssistantFactory = assistant_factory or self.engine.assistant

    # settings chosen in the panel → this request's own Settings copy
    def request_settings(self, k: Any, backend: Any, strictness: Any) -> Settings:
        names = {v for _, v in BACKENDS} | {self.settings.llm}
        backend = str(backend or self.settings.llm)
        if backend not in names:
            raise UsageError(f"unknown backend {backend!r}; choose one of {', '.join(sorted(names))}")
        try:
            k_val = int(float(k)) if k is not None else self.settings.k
            s_val = float(strictness) if strictness is not None else self.settings.abstain_strictness
        except (TypeError, ValueError):
            raise UsageError("k and strictness must be numbers") from None
        k_val = max(1, min(50, k_val))
        s_val = max(0.0, min(1.0, s_val))
        return self.settings.model_copy(update={"llm": backend, "k": k_val, "abstain_strictness": s_val})

    def sources_for(self, session: dict[str, Any], turn: int | None, active: str = "") -> str:
        if turn is None or not (0 <= turn < len(session["exchanges"])):
            return render.SOURCES_EMPTY
        return render.sources_html(_shown(session["exchanges"][turn]), turn,
                                   self.engine.document_text, active)

    @staticmethod
    def markdown_for(session: dict[str, Any], turn: int | None) -> str:
        if turn is None or not (0 <= turn < len(session["exchanges"])):
            return ""
        a: Answer | None = session["exchanges"][turn].get("answer")
        return a.render_markdown() if a is not None else ""

    def ask(
        self, question: str, session: dict[str, Any] | None, k: Any, backend: Any, strictness: Any
    ) -> Iterator[tuple[Any, ...]]:
        """Streams (chat, question box, sources, viewer, markdown, session)."""
        session = session if session and "exchanges" in session else new_session()
        question = (question or "").strip()
        if not question:
            yield (gr.skip(),) * 6
            return
        exchanges = session["exchanges"]
        history = _history(exchanges)
        ex: dict[str, Any] = {"question": question, "answer": None, "error": None, "quote": None,
                              "reading": False}
        exchanges.append(ex)
        turn = len(exchanges) - 1
        session["shown"] = turn
        yield (chat_messages(exchanges), "", render.SOURCES_PENDING, render.VIEWER_EMPTY, "", session)
        try:
            req = self.request_settings(k, backend, strictness)
            assistant = self.factory(req)
            for event in assistant.ask_stream(question, req.k, history):
                if event.kind == "quote" and event.answer is not None:
                    ex["quote"] = event.answer
                    yield (chat_messages(exchanges), gr.skip(), self.sources_for(session, turn),
                           gr.skip(), gr.skip(), session)
                elif event.kind == "token" and not ex["reading"]:
                    # The draft itself is not shown: it may not survive verification.
                    ex["reading"] = True
                    if ex["quote"] is None:
                        yield (chat_messages(exchanges), gr.skip(), gr.skip(), gr.skip(), gr.skip(),
                               session)
                elif event.kind == "answer" and event.answer is not None:
                    ex["answer"] = event.answer
            if ex["answer"] is None:
                raise BackendError("the backend returned no answer")
        except Exception as exc:  # shown as a message, never as a traceback
            if not isinstance(exc, DossierError):
                LOG.exception("answering %r failed", question)
            ex["error"] = friendly_error(exc)
            ex["answer"] = None
        yield (chat_messages(exchanges), gr.skip(), self.sources_for(session, turn),
               render.VIEWER_EMPTY, self.markdown_for(session, turn), session)

    def open_citation(self, session: dict[str, Any] | None, turn: Any, key: Any) -> str:
        session = session or new_session()
        try:
            t = int(turn)
            a = _shown(session["exchanges"][t])
        except (TypeError, ValueError, IndexError, KeyError):
            return render.VIEWER_EMPTY
        shown = render.find_shown(a, str(key)) if a is not None else None
        if shown is None:
            return render.VIEWER_EMPTY
        doc = self.engine.document_text(shown.passage.doc_id)
        return render.viewer_html(shown, doc)

    def select_turn(self, session: dict[str, Any] | None, message_index: Any) -> tuple[str, str, dict]:
        session = session or new_session()
        try:
            turn = int(message_index) // 2
        except (TypeError, ValueError):
            turn = session.get("shown")
        if turn is None or not (0 <= turn < len(session["exchanges"])):
            turn = session.get("shown")
        session["shown"] = turn
        return self.sources_for(session, turn), self.markdown_for(session, turn), session

    # -- documents ---------------------------------------------------------------------------
    def status(self, backend: Any = None) -> str:
        docs = self.engine.documents()
        return render.header_html(len(docs), sum(d.n_chunks for d in docs),
                                  str(backend or self.settings.llm))

    def doc_table(self) -> list[list[Any]]:
        held = "quarantined" if self.settings.quarantine else "searchable, flagged"
        return [[d.source, d.title, d.n_chunks, f"{held}: {d.quarantine}" if d.quarantine
                 else "searchable"] for d in self.engine.documents()]

    def doc_choices(self) -> list[tuple[str, str]]:
        return [(d.source if not d.title else f"{d.source} — {d.title[:60]}", d.doc_id)
                for d in self.engine.documents()]

    def upload(self, files: Any, progress: Callable[..., Any] | None = None) -> str:
        paths = [getattr(f, "name", f) for f in (files or [])]
        if not paths:
            return render.notice_html("Choose one or more files to add.", "info")

        def step(done: int, total: int, name: str) -> None:
            if progress is None:
                return
            if done >= total:
                progress(0.95, desc="Embedding and indexing…")
            else:
                progress(0.9 * done / max(1, total), desc=f"Reading {name} ({done}/{total})")

        if progress is not None:
            progress(0.0, desc=f"Checking {len(paths)} file(s)…")
        try:
            result = store_and_index(paths, self.settings, embedder=self.engine.embedder,
                                     progress=step)
        except Exception as exc:
            if not isinstance(exc, DossierError):  # ours carry their own fix-it message
                LOG.exception("upload failed")
            return render.notice_html(friendly_error(exc), "error")
        finally:
            self.engine.invalidate()
        if result.error:
            head = render.notice_html(f"Nothing was indexed: {result.error}", "error")
        elif result.failed and not result.ok:
            head = render.notice_html("No file could be indexed.", "error")
        elif result.failed:
            head = render.notice_html(
                f"Indexed {result.ok} file(s); {result.failed} failed ({result.summary}).", "warn")
        else:
            head = render.notice_html(f"Indexed {result.ok} file(s) ({result.summary}). "
                                      "You can ask about them now.", "ok")
        return head + render.upload_report_html(result.rows)

    def remove(self, doc_id: Any) -> str:
        if not doc_id:
            return render.notice_html("Choose a document to remove.", "info")
        docs = {d.doc_id: d for d in self.engine.documents()}
        doc = docs.get(str(doc_id))
        if doc is None:
            return render.notice_html("That document is no longer in the index.", "info")
        try:
            remove_document(self.settings, doc.doc_id, doc.path, embedder=self.engine.embedder)
        except Exception as exc:
            if not isinstance(exc, DossierError):  # ours carry their own fix-it message
                LOG.exception("remove failed")
            return render.notice_html(friendly_error(exc), "error")
        finally:
            self.engine.invalidate()
        return render.notice_html(f"Removed {doc.source} from the index.", "ok")


# -- layout ---------------------------------------------------------------------------------------

SOURCES_JS = """
const open = (card) => {
  element.querySelectorAll('.dz-card.dz-active').forEach((c) => c.classList.remove('dz-active'));
  card.classList.add('dz-active');
  trigger('click', {key: card.dataset.key, turn: Number(card.dataset.turn)});
};
element.addEventListener('click', (e) => {
  const card = e.target.closest && e.target.closest('.dz-card');
  if (card && element.contains(card)) open(card);
});
element.addEventListener('keydown', (e) => {
  if (e.key !== 'Enter' && e.key !== ' ') return;
  const card = e.target.closest && e.target.closest('.dz-card');
  if (card && element.contains(card)) { e.preventDefault(); open(card); }
});
"""

VIEWER_JS = """
const reveal = (tries) => {
  const body = element.querySelector('.dz-doc-body');
  const mark = element.querySelector('.dz-passage');
  if (!body || !mark) return;
  if (body.offsetParent === null) {  // the Document tab is still hidden
    if (tries > 0) setTimeout(() => reveal(tries - 1), 50);
    return;
  }
  const top = mark.getBoundingClientRect().top - body.getBoundingClientRect().top + body.scrollTop;
  body.scrollTo({top: Math.max(0, top - body.clientHeight / 5), behavior: 'smooth'});
  const box = element.getBoundingClientRect();
  if (box.top < 0 || box.top > window.innerHeight - 160) {
    element.scrollIntoView({block: 'start', behavior: 'smooth'});
  }
};
watch('value', () => reveal(60));
reveal(60);
"""

# A click on a [n] chip in the chat opens that citation: the click also selects the message, which
# shows that answer's sources; then the matching card is clicked.
CHIP_JS = """
() => {
  document.addEventListener('click', (e) => {
    const chip = e.target.closest && e.target.closest('#dz-chat sup.dz-ref');
    if (!chip) return;
    const bots = [...document.querySelectorAll('#dz-chat [data-testid="bot"]')];
    const turn = bots.indexOf(chip.closest('[data-testid="bot"]'));
    const key = 'c' + chip.textContent.trim();
    let tries = 100;
    const open = () => {
      const panel = document.querySelector(`#dz-sources .dz-sources[data-turn="${turn}"]`);
      const card = panel && panel.querySelector(`.dz-card[data-key="${key}"]`);
      if (card) { card.click(); return; }
      if (tries-- > 0) setTimeout(open, 50);
    };
    setTimeout(open, 0);
  });
}
"""

COPY_JS = """
(md) => {
  const button = document.querySelector('#dz-copy');
  const say = (text) => {
    if (!button) return;
    button.textContent = text;
    setTimeout(() => { button.textContent = 'Copy answer as Markdown'; }, 1600);
  };
  if (!md) { say('Nothing to copy yet'); return md; }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(md)
      .then(() => say('Copied ✓'), () => say('Copy failed: use the box below'));
  } else {
    say('Use the copy button in the box below');
  }
  return md;
}
"""

def build_app(settings: Settings, assistant_factory: AssistantFactory | None = None):  # type: ignore[no-untyped-def]
    """The Blocks app (queue enabled). `assistant_factory(request_settings)` → an Assistant;
    default: one sharing this process's embedder and index reader."""
    ui = DossierUI(settings, assistant_factory)
    backend_names = [v for _, v in BACKENDS]
    choices = list(BACKENDS) + ([(settings.llm, settings.llm)] if settings.llm not in backend_names else [])

    # Uploaded files also sit in Gradio's cache: drop them after an hour.
    with gr.Blocks(title="Dossier", analytics_enabled=False, fill_width=True,
                   delete_cache=(3600, 3600)) as demo:
        demo.dossier = ui  # type: ignore[attr-defined]  # for tests
        session = gr.State(new_session())

        status = gr.HTML(render.header_html(None, 0, settings.llm), js_on_load=None,
                         elem_id="dz-header")

        with gr.Tabs(elem_id="dz-tabs") as tabs:
            with gr.Tab("Ask", id="ask", elem_id="dz-tab-ask"):  # noqa: SIM117 (layout)
                with gr.Row(equal_height=False, elem_classes="dz-main"):
                    with gr.Column(scale=5, min_width=420, elem_classes="dz-chat-col"):
                        chatbot = gr.Chatbot(
                            value=[], elem_id="dz-chat", show_label=False, height="62vh",
                            buttons=[], feedback_options=None, latex_delimiters=[],
                            allow_tags=False, sanitize_html=True, autoscroll=True,
                            placeholder=(
                                "### Ask your documents\n"
                                "Answers stream in with numbered citations. Click a source on the "
                                "right to read it in context."
                            ),
                        )
                        question = gr.Textbox(
                            placeholder="Ask a question about your documents…", show_label=False,
                            lines=1, max_lines=6, submit_btn="Ask", elem_id="dz-question",
                            autofocus=True,
                        )
                        with gr.Row(elem_classes="dz-actions"):
                            new_chat = gr.Button("New chat", size="sm", variant="secondary",
                                                 elem_id="dz-new-chat")
                            copy_md = gr.Button("Copy answer as Markdown", size="sm",
                                                variant="secondary", elem_id="dz-copy")
                        with gr.Accordion("Answer as Markdown", open=False, elem_id="dz-md-acc"):
                            markdown = gr.Code(value="", language="markdown", interactive=False,
                                               show_label=False, buttons=["copy"], wrap_lines=True,
                                               elem_id="dz-markdown", lines=4, max_lines=16)
                    with gr.Column(scale=4, min_width=360, elem_classes="dz-side-col"):  # noqa: SIM117
                        with gr.Tabs(selected="sources", elem_id="dz-side-tabs") as side_tabs:
                            with gr.Tab("Sources", id="sources", elem_id="dz-tab-sources"):
                                sources = gr.HTML(render.SOURCES_EMPTY, js_on_load=SOURCES_JS,
                                                  elem_id="dz-sources")
                            with gr.Tab("Document", id="document", elem_id="dz-tab-document"):
                                viewer = gr.HTML(render.VIEWER_EMPTY, js_on_load=VIEWER_JS,
                                                 elem_id="dz-viewer")

            with gr.Tab("Documents", id="docs", elem_id="dz-tab-docs"):  # noqa: SIM117
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2, min_width=320):
                        gr.Markdown("### Add documents\n"
                                    f"{' '.join(ALLOWED_SUFFIXES)} · up to "
                                    f"{settings.upload_max_mb:g} MB each")
                        files = gr.File(file_count="multiple", file_types=list(ALLOWED_SUFFIXES),
                                        label="Drop files here or click to choose",
                                        elem_id="dz-upload", height=160)
                        upload_report = gr.HTML("", js_on_load=None, elem_id="dz-upload-report")
                    with gr.Column(scale=3, min_width=420):
                        gr.Markdown("### In the index")
                        table = gr.Dataframe(
                            value=[], headers=["Source", "Title", "Passages", "Status"],
                            datatype=["str", "str", "number", "str"], interactive=False,
                            wrap=True, elem_id="dz-doc-table", max_height=420,
                            column_widths=["28%", "37%", "10%", "25%"], buttons=[],
                        )
                        with gr.Row(equal_height=False, elem_classes="dz-remove-row"):
                            to_remove = gr.Dropdown(choices=[], value=None,
                                                    label="Remove a document (or click its row)",
                                                    scale=4, elem_id="dz-remove-choice")
                            remove_btn = gr.Button("Remove from index", variant="stop", scale=1,
                                                   size="md", elem_id="dz-remove", min_width=150)
                        remove_report = gr.HTML("", js_on_load=None, elem_id="dz-remove-report")

            with gr.Tab("Settings", id="settings", elem_id="dz-tab-settings"):  # noqa: SIM117
                with gr.Column(elem_classes="dz-settings"):
                    gr.Markdown("### Answer settings\nThese apply to your session only; other users "
                                "keep their own.")
                    k = gr.Slider(1, max(10, settings.k), value=settings.k, step=1,
                                  label="Passages to retrieve (k)",
                                  info="More passages give the answer more context but take longer.",
                                  elem_id="dz-k")
                    backend = gr.Dropdown(choices=choices, value=settings.llm, label="Answer backend",
                                          info="Extractive answers only with quoted sentences and "
                                               "always works offline.",
                                          elem_id="dz-backend")
                    strictness = gr.Slider(0.0, 1.0, value=settings.abstain_strictness, step=0.05,
                                           label="Abstention strictness",
                                           info="Higher: answers “not in the documents” unless the "
                                                "evidence is strong.",
                                           elem_id="dz-strictness")

        # -- wiring ------------------------------------------------------------------------
        def refresh(backend_value: Any = None) -> tuple[Any, ...]:
            return (ui.status(backend_value), ui.doc_table(),
                    gr.Dropdown(choices=ui.doc_choices(), value=None))

        chat_outputs = [chatbot, question, sources, viewer, markdown, session]
        question.submit(ui.ask, [question, session, k, backend, strictness], chat_outputs,
                        api_name="ask", concurrency_limit=CONCURRENCY, show_progress="hidden")
        question.submit(lambda: gr.Tabs(selected="sources"), None, [side_tabs], queue=False,
                        show_progress="hidden", api_visibility="private")

        def on_open(state: dict[str, Any], evt: gr.EventData) -> tuple[str, Any]:
            data = getattr(evt, "_data", None) or {}
            return (ui.open_citation(state, data.get("turn"), data.get("key")),
                    gr.Tabs(selected="document"))

        sources.click(on_open, [session], [viewer, side_tabs], show_progress="hidden",
                      api_visibility="private")

        def on_select(state: dict[str, Any], evt: gr.SelectData) -> tuple[Any, ...]:
            index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
            return ui.select_turn(state, index)

        chatbot.select(on_select, [session], [sources, markdown, session],
                       show_progress="hidden", api_visibility="private")

        def reset() -> tuple[Any, ...]:
            return ([], "", render.SOURCES_EMPTY, render.VIEWER_EMPTY, "", new_session())

        new_chat.click(reset, None, chat_outputs, api_name="new_chat", show_progress="hidden")
        chatbot.clear(reset, None, chat_outputs, show_progress="hidden", api_visibility="private")
        copy_md.click(None, [markdown], None, js=COPY_JS)

        def do_upload(
            file_list: Any, backend_value: Any, progress: gr.Progress = gr.Progress()
        ) -> tuple[Any, ...]:
            report = ui.upload(file_list, progress)
            return (report, None, *refresh(backend_value))

        files.upload(do_upload, [files, backend], [upload_report, files, status, table, to_remove],
                     api_name="upload", concurrency_limit=1, show_progress_on=[upload_report])

        def do_remove(doc_id: Any, backend_value: Any) -> tuple[Any, ...]:
            return (ui.remove(doc_id), *refresh(backend_value))

        remove_btn.click(do_remove, [to_remove, backend], [remove_report, status, table, to_remove],
                         api_name="remove", concurrency_limit=1, show_progress_on=[remove_report])

        def pick_row(evt: gr.SelectData) -> Any:
            docs = ui.engine.documents()
            row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
            return docs[row].doc_id if isinstance(row, int) and 0 <= row < len(docs) else gr.skip()

        table.select(pick_row, None, [to_remove], show_progress="hidden", api_visibility="private")
        backend.change(ui.status, [backend], [status], show_progress="hidden", api_visibility="private")
        demo.load(refresh, [backend], [status, table, to_remove], show_progress="hidden",
                  api_visibility="private")
        tabs.change(refresh, [backend], [status, table, to_remove], show_progress="hidden",
                    api_visibility="private")

    demo.queue(default_concurrency_limit=CONCURRENCY)
    return demo


# -- launching ------------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_auth(settings: Settings) -> tuple[str, str] | None:
    if settings.ui_auth is None:
        return None
    raw = settings.ui_auth.get_secret_value()
    user, sep, password = raw.partition(":")
    if not sep or not user or not password:
        raise ConfigError("DOSSIER_UI_AUTH must look like user:password")
    return user, password


def launch_options(
    settings: Settings, host: str, port: int | None, auth: tuple[str, str] | None
) -> dict[str, Any]:
    from .theme import CSS, theme

    return {
        "server_name": host,
        "server_port": port,
        "auth": auth,
        "auth_message": "Dossier: sign in to continue." if auth else None,
        "share": False,
        "inbrowser": False,
        "show_error": False,
        "max_file_size": int(settings.upload_max_mb * 1024 * 1024),
        "blocked_paths": [str(settings.home.resolve())],
        "ssr_mode": False,
        "footer_links": [],
        "theme": theme(),
        "css": CSS,
        "js": CHIP_JS,
        "mcp_server": False,
        "pwa": False,
    }


def launch(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    allow_network: bool = False,
    *,
    block: bool = True,
    assistant_factory: AssistantFactory | None = None,
    quiet: bool = False,
):  # type: ignore[no-untyped-def]
    """Serve the UI; blocks until Ctrl+C (or, with block=False, returns the running Blocks).

    Binds 127.0.0.1 unless told otherwise; any non-loopback address needs `allow_network`
    (`dossier ui --share-on-network`), and then DOSSIER_UI_AUTH=user:password is strongly advised.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    host = host or settings.ui_host
    port = port or settings.ui_port
    if not is_loopback(host) and not allow_network:
        raise UsageError(
            f"refusing to serve on {host}: that exposes your documents to the network. "
            "Pass --share-on-network to do it anyway (and set DOSSIER_UI_AUTH=user:password)"
        )
    auth = parse_auth(settings)
    if not is_loopback(host) and auth is None:
        print(f"dossier: warning: serving on {host} without a password; set "
              "DOSSIER_UI_AUTH=user:password to require one", file=sys.stderr)
    settings.uploads_path.mkdir(parents=True, exist_ok=True)
    demo = build_app(settings, assistant_factory)
    ui: DossierUI = demo.dossier  # type: ignore[attr-defined]
    if assistant_factory is None:
        # Load the embedding model while the browser opens, not on the first question.
        threading.Thread(target=lambda: ui.engine.embedder, daemon=True, name="dossier-warmup").start()
    try:
        demo.launch(prevent_thread_lock=True, quiet=True, **launch_options(settings, host, port, auth))
    except OSError as exc:
        raise ConfigError(f"cannot serve on {host}:{port} ({exc}); pick another port with --port "
                          "or DOSSIER_UI_PORT") from None
    if not quiet:
        where = demo.local_url or f"http://{host}:{port}/"
        print(f"Dossier is running at {where}  (open it in your browser; Ctrl+C stops it)",
              flush=True)
    if block:
        try:
            while demo.is_running:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            demo.close()
    return demo
