"""In the browser: the evidence engine's quote shows at once, marked as a quote; the LLM's answer
replaces it only once verified, and no draft text is ever shown and then taken back.

The LLM is a scripted double that is slow on purpose (it "reads" for 3 s) and whose draft holds
one invented sentence that verification must drop; the index, the rules, the verifier, the UI
server and Chromium are real."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import pick_free_port
from fakes import ScriptedJudgingLLM, passage_blocks, squash
from test_ui_e2e import CHROMIUM, CHROMIUM_ARGS

from core.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.timeout(300)]

QUESTION = "How many boxes of computers was Siemens forced to recall?"
INVENTED = "The recall cost Siemens 4.5 million euros"


def _draft(messages: list[dict[str, str]]) -> str:
    time.sleep(3)
    n = next(n for n, t in passage_blocks(messages).items() if "Siemens was forced" in squash(t))
    return f"Siemens had to recall 111 boxes of computers [{n}]. {INVENTED} [{n}]."


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder: Any, corpus_dir: Path) -> Iterator[str]:
    from index.ingest import ingest
    from qa import Assistant
    from ui.app import launch

    root = tmp_path_factory.mktemp("ui_quote")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        settings = Settings(home=root / "home", llm="extractive")
        assert ingest([corpus_dir], settings, embedder=embedder).added == 5
        llm = ScriptedJudgingLLM(_draft, judge=lambda answer: 0.9 if "111" in answer else 0.1)
        port = pick_free_port()
        demo = launch(settings, host="127.0.0.1", port=port, block=False, quiet=True,
                      assistant_factory=lambda s: Assistant(s, llm=llm, embedder=embedder))
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            demo.close()


def test_the_quote_shows_first_and_the_verified_answer_replaces_it(served: str) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (run tests/setup_browser.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(served)
            page.wait_for_selector("#dz-header .dz-pill")
            # Every text the answer bubble ever shows, recorded as the page changes.
            page.evaluate("""() => {
                window.__seen = [];
                new MutationObserver(() => {
                    const bots = document.querySelectorAll('#dz-chat [data-testid="bot"]');
                    if (bots.length) window.__seen.push(bots[bots.length - 1].innerText);
                }).observe(document.body, {subtree: true, childList: true, characterData: true});
            }""")
            page.fill("#dz-question textarea", QUESTION)
            page.keyboard.press("Enter")
            asked = time.monotonic()
            page.wait_for_function("""() => [...document.querySelectorAll('#dz-chat [data-testid="bot"]')]
                .some(b => b.innerText.includes('Quoted from the documents'))""")
            quote_after = time.monotonic() - asked
            quote = page.locator('#dz-chat [data-testid="bot"]').last.inner_text()
            assert "111 boxes" in quote and "Later the same year" in quote
            # Its sources are there to check while the model reads.
            assert page.locator("#dz-sources .dz-card mark").first.inner_text()
            page.wait_for_function("""() => {
                const bots = document.querySelectorAll('#dz-chat [data-testid="bot"]');
                const last = bots.length ? bots[bots.length - 1].innerText : '';
                return last.includes('Siemens had to recall') && !last.includes('▍');
            }""")
            final = page.locator('#dz-chat [data-testid="bot"]').last.inner_text()
            seen = page.evaluate("() => window.__seen")
        finally:
            browser.close()
    # The quote came while the model was still reading (it takes 3 s).
    assert quote_after < 3
    assert "Quoted from the documents" not in final and "111 boxes" in final
    # The invented sentence was dropped before anything showed it.
    assert not any(INVENTED in text for text in seen)
    assert any("Quoted from the documents" in text for text in seen)
