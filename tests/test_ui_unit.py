"""The chat UI's pieces without a browser: escaping, highlighting, uploads, launch guards, and the
handlers (errors, history, per-request settings) with a fake assistant. No model is loaded."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.errors import BackendError, ConfigError, NoIndexError, UsageError
from core.settings import Settings
from index.models import Passage
from qa.assistant import StreamEvent
from qa.models import Answer, Citation, Turn
from ui import render
from ui.app import DossierUI, build_app, chat_messages, is_loopback, launch, parse_auth
from ui.uploads import check_upload, safe_name, store_and_index

EVIL = (
    "Intro line.\n"
    "The budget was 12 million <script>alert(1)</script> euros.\n"
    'Flagged <img src=x onerror="alert(2)"> in review.\n'
    "See [the ledger](javascript:alert(3)) and ![chart](http://127.0.0.1:9/beacon.png).\n"
    "Template {{7*7}} ${alert(6)} `code`\n"
)


def _passage(doc: str, start: int, end: int, source: str = "evil.md") -> Passage:
    return Passage(source=source, doc_id="d1", start=start, end=end, text=doc[start:end], score=1.0,
                   title="<b>Title</b>")


def _answer(doc: str = EVIL, supported: bool = True, text: str | None = None) -> Answer:
    s = doc.index("The budget")
    e = doc.index("euros.") + len("euros.")
    p = _passage(doc, 0, len(doc))
    cit = Citation(n=1, passage=p, supported=supported, support_start=s, support_end=e)
    return Answer(question="q", answer=text or f"{doc[s:e]} [1]", abstained=False,
                  citations=[cit], backend="fake", standalone_question="q")


# -- escaping ------------------------------------------------------------------------------------


def test_md_escape_leaves_no_markup() -> None:
    out = render.md_escape(EVIL)
    assert "<" not in out and ">" not in out
    assert "![" not in out and "](" not in out
    assert "\\[the ledger\\]" in out
    assert "\\$" in out and "\\`" in out


def test_answer_markdown_turns_only_known_markers_into_chips() -> None:
    out = render.answer_markdown("Fact one [1]. Not a marker [7]. <i>x</i>", {1})
    assert out.count('<sup class="dz-ref">') == 1
    assert "\\[7\\]" in out
    assert "<i>" not in out


def test_an_open_answer_stays_a_markdown_list_and_its_items_stay_escaped() -> None:
    out = render.answer_markdown("- Siemens recalled computers [1].\n- <b>Sofradir</b> sold [2].", {1, 2})
    lines = out.split("\n")
    assert len(lines) == 2 and all(line.startswith("- ") for line in lines)
    assert out.count('<sup class="dz-ref">') == 2 and "<b>" not in out
    # A dash inside prose is still escaped: only a whole answer of "- " lines is a list.
    assert render.answer_markdown("- not a list [1]", {1}).startswith("\\-")


@pytest.mark.parametrize("builder", ["sources", "viewer"])
def test_panels_escape_document_text(builder: str) -> None:
    a = _answer()
    shown = render.shown_passages(a)[0]
    html = (render.sources_html(a, 0, lambda _id: EVIL) if builder == "sources"
            else render.viewer_html(shown, EVIL))
    for raw in ("<script", "<img", "<b>", 'href="javascript', "onerror=\"alert"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<mark>") == 1
    # the highlighted part is exactly the supporting sentence, escaped
    marked = html.split("<mark>", 1)[1].split("</mark>", 1)[0]
    assert marked == render.esc("The budget was 12 million <script>alert(1)</script> euros.")


def test_viewer_marks_passage_and_position() -> None:
    doc = "line one\nline two\nthe passage here. Support sentence.\nafter\n"
    s = doc.index("the passage")
    e = doc.index("after")
    cit = Citation(n=2, passage=_passage(doc, s, e), supported=False,
                   support_start=doc.index("Support"), support_end=doc.index("sentence.") + 9)
    html = render.viewer_html(render._shown_citation(cit), doc)
    assert 'id="dz-passage"' in html
    assert "<mark>Support sentence.</mark>" in html
    assert "line 3" in html
    assert "support not confirmed" in html


def test_sources_mark_unconfirmed_support_and_closest() -> None:
    html = render.sources_html(_answer(supported=False), 0, lambda _id: EVIL)
    assert "support not confirmed" in html
    p = _passage(EVIL, 0, 20)
    abstained = Answer(question="q", answer="The documents do not contain it.", abstained=True,
                       backend="fake", closest=[p])
    html = render.sources_html(abstained, 3, lambda _id: EVIL)
    assert "Closest passages" in html and 'data-key="p0"' in html and 'data-turn="3"' in html


def test_highlight_clamps_offsets() -> None:
    assert render.highlight("abc", 10, 0, 100) == "<mark>abc</mark>"
    assert render.highlight("a<c", 10, 11, 12) == "a<mark>&lt;</mark>c"
    assert render.highlight("abc", 10, None, None) == "abc"
    assert render.highlight("abc", 10, 50, 60) == "abc"


# -- uploads ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\Windows\\evil.md", "evil.md"),
        (".hidden.txt", "hidden.txt"),
        ("Résumé final.DOCX", "Resume final.docx"),
        ("a;b|c$(rm -rf).pdf", "a_b_c_(rm -rf).pdf"),
        ("..", "upload"),
        ("", "upload"),
        ("x" * 300 + ".txt", "x" * 116 + ".txt"),
    ],
)
def test_safe_name(given: str, expected: str) -> None:
    assert safe_name(given) == expected
    assert "/" not in safe_name(given) and not safe_name(given).startswith(".")


def test_check_upload(tmp_path: Path) -> None:
    ok = tmp_path / "a.txt"
    ok.write_text("hello")
    assert check_upload(ok, "a.txt", 1) is None
    assert "unsupported" in (check_upload(ok, "a.exe", 1) or "")
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2_000_000)
    assert "too large" in (check_upload(big, "big.txt", 1) or "")
    empty = tmp_path / "e.md"
    empty.write_text("")
    assert "empty" in (check_upload(empty, "e.md", 1) or "")


def test_refused_uploads_never_reach_the_index(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", upload_max_mb=0.001)
    bad = tmp_path / "tool.exe"
    bad.write_text("MZ")
    big = tmp_path / "big.txt"
    big.write_text("y" * 5000)
    result = store_and_index([bad, big], settings)
    assert [r[1] for r in result.rows] == ["error", "error"]
    assert not result.stored and not settings.catalog_path.exists()


# -- launch guards ------------------------------------------------------------------------------


def test_loopback_only_without_the_flag(tmp_path: Path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    with pytest.raises(UsageError, match="share-on-network"):
        launch(Settings(home=tmp_path / "h"), host="0.0.0.0", port=1)
    with pytest.raises(UsageError):
        launch(Settings(home=tmp_path / "h", ui_host="10.0.0.1"), port=1)


def test_parse_auth(tmp_path: Path) -> None:
    assert parse_auth(Settings(home=tmp_path)) is None
    assert parse_auth(Settings(home=tmp_path, ui_auth=SecretStr("ann:pa:ss"))) == ("ann", "pa:ss")
    with pytest.raises(ConfigError):
        parse_auth(Settings(home=tmp_path, ui_auth=SecretStr("no-colon")))


# -- handlers with a fake assistant -----------------------------------------------------------


class FakeAssistant:
    def __init__(self, settings: Settings, log: list, error: Exception | None = None) -> None:
        self.settings = settings
        self.log = log
        self.error = error

    def ask_stream(self, question: str, k: int | None = None, history: Sequence[Turn] = (),
                   doc_ids: Sequence[str] | None = None) -> Iterator[StreamEvent]:
        self.log.append((question, k, list(history), self.settings))
        if self.error is not None:
            raise self.error
        quote = _answer(text=f"Quote for {question} [1]")
        yield StreamEvent("quote", answer=quote.model_copy(update={"mode": "quote"}))
        yield StreamEvent("token", text="Draft ")
        yield StreamEvent("token", text="text")
        a = _answer(text=f"Answer to {question} [1]")
        standalone = question if not history else f"{question} (follow-up to: {history[-1].question})"
        yield StreamEvent("answer", answer=a.model_copy(update={"question": question,
                                                                "standalone_question": standalone}))


def _run(ui: DossierUI, question: str, session: dict, k=3, backend="extractive", strictness=0.7):
    outs = list(ui.ask(question, session, k, backend, strictness))
    return outs, outs[-1]


@pytest.mark.parametrize(
    ("error", "expect"),
    [
        (NoIndexError("/x"), "no documents in the index"),
        (BackendError("connection refused at http://127.0.0.1:1"), "backend is not available"),
        (RuntimeError("boom\nTraceback (most recent call last)"), "Something went wrong"),
    ],
)
def test_errors_are_readable_messages(tmp_path: Path, error: Exception, expect: str) -> None:
    log: list = []
    ui = DossierUI(Settings(home=tmp_path / "h"), lambda s: FakeAssistant(s, log, error))  # type: ignore[arg-type,return-value]
    _, final = _run(ui, "why?", {"exchanges": [], "shown": None})
    chat = final[0]
    assert chat[-1]["role"] == "assistant"
    assert expect in chat[-1]["content"].replace("\\", "")
    assert "Traceback" not in chat[-1]["content"]


def test_streams_then_answers_with_history_and_session_settings(tmp_path: Path) -> None:
    base = Settings(home=tmp_path / "h", k=5, llm="local", abstain_strictness=0.5)
    log: list = []
    ui = DossierUI(base, lambda s: FakeAssistant(s, log))  # type: ignore[arg-type,return-value]
    ui.engine.document_text = lambda _id: EVIL  # type: ignore[method-assign]
    session = {"exchanges": [], "shown": None}
    outs, final = _run(ui, "How much was the budget?", session)
    assert outs[0][0][-1]["content"].startswith("*Searching")
    # The quote shows at once, marked as a quote, with its sources; the unverified draft never
    # shows, so nothing on screen is taken back.
    shown = outs[1][0][-1]["content"]
    assert "Quote for" in shown and "Quoted from the documents" in shown
    assert 'data-key="c1"' in outs[1][2]
    assert not any("Draft" in str(o[0]) for o in outs)
    assert "Answer to" in outs[-1][0][-1]["content"] and "Quote for" not in outs[-1][0][-1]["content"]
    _, _, sources, _, md, session = final
    assert 'data-key="c1"' in sources and "[1]" in md
    # the request used this session's settings; the shared settings object is untouched
    _, k, history, req = log[-1]
    assert (k, req.k, req.llm, req.abstain_strictness) == (3, 3, "extractive", 0.7)
    assert (base.k, base.llm, base.abstain_strictness) == (5, "local", 0.5)
    assert history == []
    # follow-up: the previous turn is passed on, and the chat says how it was read
    _, final = _run(ui, "what about 2009?", session)
    assert [t.question for t in log[-1][2]] == ["How much was the budget?"]
    assert "follow-up to: “How much was the budget?”" in final[0][-1]["content"]
    assert len(final[0]) == 4
    # opening a citation of the first answer shows its document with the passage marked
    viewer = ui.open_citation(session, 0, "c1")
    assert 'id="dz-passage"' in viewer and "<mark>" in viewer
    assert ui.open_citation(session, 9, "c1") == render.VIEWER_EMPTY
    assert ui.open_citation(session, 0, "c99") == render.VIEWER_EMPTY


def test_unknown_backend_is_refused(tmp_path: Path) -> None:
    ui = DossierUI(Settings(home=tmp_path / "h"), lambda s: FakeAssistant(s, []))  # type: ignore[arg-type,return-value]
    _, final = _run(ui, "q", {"exchanges": [], "shown": None}, backend="rm -rf")
    assert "unknown backend" in final[0][-1]["content"]


def test_chat_messages_escape_questions() -> None:
    msgs = chat_messages([{"question": "<img src=x onerror=alert(1)> ![a](b)", "answer": None,
                           "error": None, "draft": ""}])
    assert "<img" not in msgs[0]["content"] and "![" not in msgs[0]["content"]


def test_build_app_has_queue_and_named_endpoints(tmp_path: Path) -> None:
    demo = build_app(Settings(home=tmp_path / "h"))
    names = {d.api_name for d in demo.fns.values()}
    assert {"ask", "upload", "remove", "new_chat"} <= names
    assert demo._queue is not None
