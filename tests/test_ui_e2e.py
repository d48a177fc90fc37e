"""The real chat UI on a loopback port, driven in headless Chromium (Debian's /usr/bin/chromium;
never a downloaded browser) and, for 8 concurrent sessions, through gradio_client.

One server per module: the sample corpus plus a hostile Markdown document, ingested into a
temporary DOSSIER_HOME, answered by the deterministic `extractive` backend.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import pick_free_port, serve_ui

from core.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-gpu"]
SIEMENS_Q = "How many boxes of computers was Siemens forced to recall?"
SIEMENS_SRC = "000_e290e26eed46899f.txt"
OUT_OF_CORPUS_Q = "What is the maximum range of the QW-1 surface-to-air missile?"

HOSTILE_MD = """# Nightjar memo <img src=x onerror="window.__pwned=7">

The Project Nightjar budget was 12 million euros <script>alert(1)</script> in its first year.
Auditors flagged it <img src=x onerror="alert(2)"> during the review of the Nightjar accounts.
See [the ledger](javascript:alert(3)) and ![chart](http://127.0.0.1:9/beacon.png) for Nightjar.
Raw: <b onclick="alert(4)">bold</b> <iframe src="javascript:alert(5)"></iframe> {{7*7}} ${alert(6)}
"""
UPLOAD_TXT = """Zephyr-9 Reactor Annual Report

The Zephyr-9 experimental reactor, commissioned in Tallinn, produced 4,217 megawatts of power
during its first full year of operation. Its chief engineer, Marta Kask, said the cooling loop
was redesigned twice before the reactor reached full output.
"""

pytestmark = [pytest.mark.server, pytest.mark.timeout(600)]


@dataclass
class Served:
    url: str
    settings: Settings
    root: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder: Any, corpus_dir: Path) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("ui")
    extra = root / "extra"
    extra.mkdir()
    (extra / "nightjar_memo.md").write_text(HOSTILE_MD, encoding="utf-8")
    with serve_ui(root, [corpus_dir, extra], embedder, expect_added=6) as (url, settings):
        yield Served(url, settings, root)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (run tests/setup_browser.sh); browser tests need it")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Page:
    page: Any
    dialogs: list[str]
    requests: list[str]
    shots: Path

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def ui(browser: Any, served: Served, tmp_path: Path) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    dialogs: list[str] = []
    requests: list[str] = []

    def on_dialog(d: Any) -> None:
        dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda r: requests.append(r.url))
    page.goto(served.url)
    page.wait_for_selector("#dz-header .dz-pill")
    try:
        yield Page(page, dialogs, requests, tmp_path)
    finally:
        context.close()


def ask(p: Page, question: str) -> str:
    """Type a question, send it, wait for the finished answer; returns its text."""
    page = p.page
    before = page.locator('#dz-chat [data-testid="bot"]').count()
    page.get_by_role("tab", name="Ask").click()
    page.fill("#dz-question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(
        """(n) => {
            const bots = document.querySelectorAll('#dz-chat [data-testid="bot"]');
            if (bots.length <= n) return false;
            const last = bots[bots.length - 1].innerText;
            return !last.includes('Searching your documents') && !last.includes('▍')
                && !document.querySelector('#dz-sources .dz-pending');
        }""",
        arg=before,
    )
    return page.locator('#dz-chat [data-testid="bot"]').last.inner_text()


@pytest.mark.browser
def test_answer_cites_and_one_click_opens_the_passage(ui: Page, served: Served) -> None:
    from playwright.sync_api import expect

    page = ui.page
    text = ask(ui, SIEMENS_Q)
    assert "111" in text
    card = page.locator("#dz-sources .dz-card").filter(has_text=SIEMENS_SRC).first
    expect(card.locator(".dz-src")).to_have_text(SIEMENS_SRC)
    expect(card.locator("mark")).to_contain_text("111 boxes")
    expect(card.locator(".dz-pos")).to_contain_text("chars")
    ui.shot("answer")

    card.click()
    passage = page.locator("#dz-viewer .dz-passage")
    expect(passage.locator("mark")).to_contain_text("Siemens was forced to recall 111 boxes")
    expect(page.locator("#dz-viewer .dz-viewer-head .dz-src")).to_contain_text(SIEMENS_SRC)
    expect(passage).to_be_in_viewport()
    # the whole document is there, not just the passage
    assert len(page.locator("#dz-viewer .dz-doc").inner_text()) > 2 * len(passage.inner_text())
    ui.shot("viewer")

    # the answer with its citations, as Markdown: one click copies it
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.url)
    page.locator("#dz-copy").click()
    expect(page.locator("#dz-copy")).to_contain_text("Copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert f"[1] *{SIEMENS_SRC}*" in copied and "111 boxes" in copied
    page.locator("#dz-md-acc").get_by_text("Answer as Markdown", exact=True).click()
    md = page.locator("#dz-markdown")
    expect(md).to_contain_text(f"[1] *{SIEMENS_SRC}*")
    expect(md).to_contain_text("111 boxes")

    # a follow-up that leans on the previous turn is read with it
    follow = ask(ui, "what about 2009?")
    assert "follow-up to" in follow and SIEMENS_Q in follow
    assert "Could not answer" not in follow
    ui.shot("follow_up")
    # everything the page loaded came from this server: no CDN, fonts or analytics
    outside = [u for u in ui.requests if not u.startswith((served.url, "data:", "blob:"))]
    assert outside == []

    # the [1] marker in the first answer is itself a link to its passage
    page.get_by_role("tab", name="Sources").click()
    page.locator('#dz-chat [data-testid="bot"]').first.locator("sup.dz-ref").first.click()
    expect(page.locator("#dz-viewer .dz-passage mark")).to_contain_text("111 boxes")
    expect(page.locator("#dz-viewer .dz-passage")).to_be_in_viewport()


@pytest.mark.browser
def test_out_of_corpus_question_abstains(ui: Page) -> None:
    text = ask(ui, OUT_OF_CORPUS_Q)
    ui.shot("abstain")
    assert "The documents do not contain" in text


@pytest.mark.browser
def test_upload_index_ask_and_remove(ui: Page, served: Served, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = ui.page
    good = tmp_path / "zephyr_report.txt"
    good.write_text(UPLOAD_TXT, encoding="utf-8")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not a pdf at all")
    page.get_by_role("tab", name="Documents").click()
    page.set_input_files("#dz-upload input[type=file]", [str(good), str(broken)])
    report = page.locator("#dz-upload-report")
    expect(report.locator(".dz-notice")).to_be_visible(timeout=120_000)
    expect(report.locator("li.dz-up-ok")).to_contain_text("zephyr_report.txt")
    expect(report.locator("li.dz-up-error")).to_contain_text("broken.pdf")
    expect(page.locator("#dz-doc-table")).to_contain_text("zephyr_report.txt")
    ui.shot("uploaded")
    stored = served.settings.uploads_path / "zephyr_report.txt"
    assert stored.exists() and not (served.settings.uploads_path / "broken.pdf").exists()

    text = ask(ui, "How many megawatts did the Zephyr-9 reactor produce?")
    assert "4,217" in text
    expect(page.locator("#dz-sources .dz-card .dz-src").first).to_have_text("zephyr_report.txt")

    page.get_by_role("tab", name="Documents").click()
    page.locator("#dz-doc-table [role=gridcell]").filter(has_text="zephyr_report.txt").first.click()
    expect(page.locator("#dz-remove-choice input")).to_have_value(re.compile("zephyr_report.txt"))
    page.locator("#dz-remove").click()
    expect(page.locator("#dz-remove-report")).to_contain_text("Removed zephyr_report.txt")
    expect(page.locator("#dz-doc-table")).not_to_contain_text("zephyr_report.txt")
    assert not stored.exists()


@pytest.mark.browser
def test_hostile_document_renders_inert(ui: Page) -> None:
    from playwright.sync_api import expect

    page = ui.page
    ask(ui, "What was the Project Nightjar budget?")
    card = page.locator("#dz-sources .dz-card").filter(has_text="nightjar_memo.md").first
    card.click()
    viewer = page.locator("#dz-viewer .dz-doc")
    expect(viewer).to_contain_text("<script>alert(1)</script>")
    expect(viewer).to_contain_text('<img src=x onerror="alert(2)">')
    expect(viewer).to_contain_text("![chart](http://127.0.0.1:9/beacon.png)")
    page.get_by_role("tab", name="Documents").click()
    expect(page.locator("#dz-doc-table")).to_contain_text("nightjar_memo.md")
    page.get_by_role("tab", name="Ask").click()
    page.wait_for_timeout(500)
    ui.shot("hostile")

    assert ui.dialogs == []
    found = page.evaluate(
        """() => {
            const areas = ['#dz-chat', '#dz-sources', '#dz-viewer', '#dz-doc-table', '#dz-header'];
            const q = (sel) => areas.flatMap((a) => [...document.querySelectorAll(a + ' ' + sel)]);
            return {
                img: q('img').length,
                iframe: q('iframe').length,
                script: q('script').length,
                handlers: q('[onerror], [onclick], [onload]').length,
                jsLinks: q('a[href^="javascript"]').length,
                links: q('a').length,
                pwned: window.__pwned === 7,
            };
        }"""
    )
    assert found == {"img": 0, "iframe": 0, "script": 0, "handlers": 0, "jsLinks": 0, "links": 0,
                     "pwned": False}
    assert not [u for u in ui.requests if "beacon" in u or u.endswith("/x")]


GOLD = [
    ("How many tonnes of potassium perchlorate were in the 2008 shipment to Iran that the US "
     "confronted China over?", "208", "000_e290e26eed46899f.txt"),
    ("From where did Wang say he had already received a copy of the photographs?",
     "Chinese Embassy in Washington", "001_49bcd5187186c93a.txt"),
    ("Which Iranian nuclear research complex was built with Chinese involvement?", "Isfahan",
     "002_e2cce8ef798ee355.txt"),
    ("Which Israeli envoy in Washington voiced fears that Beijing could be helping Tehran restock "
     "its rocket arsenal?", "Yechiel Leiter", "002_e2cce8ef798ee355.txt"),
    ("Which Chinese defence minister visited Tehran in April and met President Raisi?", "Wei Fenghe",
     "003_96d8c7cf5974db9e.txt"),
    ("Which Chinese city did Iran’s Foreign Minister Hussein Amir Abdullah visit in January, when "
     "Beijing promised more cyber cooperation?", "Wuxi", "003_96d8c7cf5974db9e.txt"),
    ("Which Chinese foreign minister offered to help Iraq defeat Isis?", "Wang Yi",
     "004_a74087268ab38adb.txt"),
    ("In which country has CNPC in effect abandoned the oilfields it operated?", "Syria",
     "004_a74087268ab38adb.txt"),
]


def _text(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def _plain(message: dict[str, Any]) -> str:
    """A chat message as the user reads it (the UI escapes Markdown with backslashes)."""
    return re.sub(r"\\(.)", r"\1", _text(message))


def test_eight_concurrent_sessions_keep_their_own_answers(served: Served) -> None:
    from gradio_client import Client

    def session(item: tuple[str, str, str]) -> tuple[str, list, str, str]:
        question, _, _ = item
        client = Client(served.url, verbose=False)
        chat, _, sources, _, md = client.predict(question, 5, "extractive", 0.5, api_name="/ask")
        # a second turn in the same session: its history holds its own question only
        chat2, *_ = client.predict("what about that?", 5, "extractive", 0.5, api_name="/ask")
        return question, [chat, chat2], sources, md

    with ThreadPoolExecutor(max_workers=len(GOLD)) as pool:
        results = list(pool.map(session, GOLD))

    for (question, answer, source), (asked, (chat, chat2), sources, md) in zip(GOLD, results, strict=True):
        assert asked == question
        # this session's chat holds its own question and the answer to it, nobody else's
        assert len(chat) == 2 and _plain(chat[0]) == question
        assert answer in _plain(chat[1])
        assert f'<span class="dz-src">{source}</span>' in sources
        assert f"*{source}*" in md and answer in md
        # its second turn was read as a follow-up to its own first question
        assert len(chat2) == 4 and _plain(chat2[0]) == question
        assert f"follow-up to: “{question}”" in _plain(chat2[3])


def test_auth_is_required_when_configured(served: Served, tmp_path: Path) -> None:
    import httpx
    from pydantic import SecretStr

    from ui.app import launch

    settings = served.settings.model_copy(update={"ui_auth": SecretStr("ann:s3cret-pass")})
    port = pick_free_port()
    demo = launch(settings, host="127.0.0.1", port=port, block=False, quiet=True,
                  assistant_factory=lambda s: None)  # type: ignore[arg-type,return-value]
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/config", timeout=10).status_code == 401
        with httpx.Client(base_url=base, timeout=10) as c:
            bad = c.post("/login", data={"username": "ann", "password": "wrong"})
            assert bad.status_code >= 400
            ok = c.post("/login", data={"username": "ann", "password": "s3cret-pass"})
            assert ok.status_code == 200
            assert c.get("/config").status_code == 200
    finally:
        demo.close()
