"""The Ollama backend against a real HTTP server on loopback that speaks Ollama's streaming chat
API (/api/chat, one JSON object a line). No Ollama binary can be installed here, so the server
is a small stand-in written from Ollama's API reference; what is under test is the client: the
request it sends, the streamed reply it assembles, and the errors it turns into fixes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from core.errors import BackendError
from core.settings import Settings
from qa.llm import OllamaLLM, make_llm

pytestmark = pytest.mark.server


class _Ollama(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []
    models: ClassVar[set[str]] = {"llama3.2"}

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body})
        if self.path != "/api/chat":
            self.send_error(404)
            return
        if body.get("model") not in self.models:
            payload = json.dumps({"error": f"model '{body.get('model')}' not found"}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        words = ["Siemens ", "recalled ", "111 ", "boxes ", "[1]."]
        for w in words:
            line = {"model": body["model"], "message": {"role": "assistant", "content": w}, "done": False}
            self.wfile.write((json.dumps(line) + "\n").encode())
            self.wfile.flush()
        done = {"model": body["model"], "message": {"role": "assistant", "content": ""}, "done": True,
                "done_reason": "stop", "eval_count": len(words)}
        self.wfile.write((json.dumps(done) + "\n").encode())
        # Anything after "done" must be ignored.
        self.wfile.write(b'{"message": {"content": "IGNORED"}, "done": false}\n')


@pytest.fixture
def ollama() -> Iterator[str]:
    _Ollama.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ollama)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_streams_a_chat_reply_and_sends_ollamas_request(ollama: str, tmp_path) -> None:
    llm = make_llm(Settings(home=tmp_path, llm="ollama", ollama_url=ollama + "/"))
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]
    pieces = list(llm.stream(messages, max_tokens=42))
    assert pieces == ["Siemens ", "recalled ", "111 ", "boxes ", "[1]."]
    sent = _Ollama.requests[-1]
    assert sent["path"] == "/api/chat"
    assert sent["body"]["messages"] == messages and sent["body"]["stream"] is True
    assert sent["body"]["options"] == {"temperature": 0, "num_predict": 42}


def test_an_injected_client_is_used(ollama: str) -> None:
    seen: list[str] = []
    client = httpx.Client(event_hooks={"request": [lambda r: seen.append(str(r.url))]})
    llm = OllamaLLM(ollama, "llama3.2", timeout=10, client=client)
    assert "".join(llm.stream([{"role": "user", "content": "Q"}], max_tokens=8)).endswith("[1].")
    assert seen == [ollama + "/api/chat"]


def test_a_missing_model_says_to_pull_it(ollama: str) -> None:
    llm = OllamaLLM(ollama, "mistral", timeout=10)
    with pytest.raises(BackendError, match="ollama pull mistral"):
        list(llm.stream([{"role": "user", "content": "Q"}], max_tokens=8))


def test_no_server_says_to_start_one() -> None:
    from conftest import pick_free_port

    llm = OllamaLLM(f"http://127.0.0.1:{pick_free_port()}", "llama3.2", timeout=5)
    with pytest.raises(BackendError, match="ollama serve"):
        list(llm.stream([{"role": "user", "content": "Q"}], max_tokens=8))
