"""The `openai` backend against a real OpenAI-compatible server: llama.cpp's, serving the bundled
GGUF on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from conftest import pick_free_port, serve

from core.errors import BackendError
from dossier.cli import main
from qa.evidence import citations_in
from qa.llm import OpenAICompatibleLLM, bundled_gguf, make_llm

pytestmark = pytest.mark.server

# Small enough to keep the weak 135M model fast on a shared CPU.
LEAN = {"llm_context_passages": 2, "llm_max_tokens": 48}


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("llama_cpp.server")
    model = bundled_gguf()
    if not model.exists():
        pytest.skip(f"bundled GGUF missing at {model}")
    port = pick_free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    base = f"http://127.0.0.1:{port}/v1"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", "2048", "--n_threads", "2", "--verbose", "False"]
    with serve(cmd, f"{base}/models", log_path, "llama.cpp server"):
        yield base


@pytest.mark.llm
def test_openai_backend_streams_pieces(llama_server: str) -> None:
    llm = OpenAICompatibleLLM(llama_server, "not-needed", "local-model", timeout=60)
    assert llm.name == "openai"
    pieces = list(llm.stream([{"role": "user", "content": "Say hello in one short sentence."}],
                             max_tokens=16))
    assert len(pieces) > 1, pieces
    assert "".join(pieces).strip()


@pytest.mark.llm
def test_assistant_answers_through_the_server_and_verifies(make_assistant, llama_server: str,
                                                           gold_questions) -> None:
    gold = next(g for g in gold_questions if g.id == "q003")
    assistant = make_assistant(llm="openai", openai_base_url=llama_server, **LEAN)
    answer = assistant.ask(gold.question)

    assert answer.backend == "openai"
    # The abstention decision comes before generation: this answerable question reaches the model.
    assert not answer.abstained and answer.draft.strip(), answer
    assert answer.mode in {"draft", "fallback"}
    assert answer.citations
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert set(citations_in(answer.answer)) == {c.n for c in answer.citations}
    assert all(c.supported for c in answer.citations)
    # Re-checking the final answer against its own citations finds every sentence supported.
    assert all(check.supported for check in assistant.check_answer(answer))
    assert set(answer.timings_ms) >= {"retrieve", "generate", "total"}


def test_dead_port_is_a_readable_backend_error(qa_settings) -> None:
    base = f"http://127.0.0.1:{pick_free_port()}/v1"
    llm = make_llm(qa_settings.model_copy(update={"llm": "openai", "openai_base_url": base,
                                                  "request_timeout_s": 5.0}))
    with pytest.raises(BackendError) as info:
        list(llm.stream([{"role": "user", "content": "hi"}], max_tokens=4))
    message = str(info.value)
    assert base in message and "DOSSIER_OPENAI_BASE_URL" in message
    assert "\n" not in message and len(message) < 300
    assert info.value.exit_code == 1


def test_dead_port_through_the_cli_exits_1_with_one_line(qa_settings, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DOSSIER_HOME", str(qa_settings.home))
    monkeypatch.setenv("DOSSIER_OPENAI_BASE_URL", f"http://127.0.0.1:{pick_free_port()}/v1")
    monkeypatch.setenv("DOSSIER_REQUEST_TIMEOUT_S", "5")
    code = main(["ask", "How many boxes of computers was Siemens forced to recall?",
                 "--json", "--llm", "openai"])
    assert code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dossier: error: cannot reach"), lines
