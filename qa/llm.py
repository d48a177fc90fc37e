"""Answer backends behind one small interface, chosen by name from a registry (DOSSIER_LLM).

Every backend streams: `stream()` yields text pieces as they arrive. Heavy imports are lazy and
a missing optional package fails with an install hint.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from core.errors import BackendError, ConfigError, missing_dependency
from core.settings import Settings

from . import gguf

Message = dict[str, str]


class LLM(Protocol):
    name: str

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]: ...


@runtime_checkable
class CanBan(Protocol):
    """A backend that can weigh and forbid a reply's first token (llama.cpp's logits)."""

    def stream_banning(self, messages: list[Message], *, max_tokens: int,
                       banned: Sequence[str]) -> Iterator[str]: ...

    def first_token_share(self, messages: list[Message], words: Sequence[str]) -> float: ...


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


# -- local GGUF models (llama.cpp in process) ------------------------------------------------


def bundled_gguf() -> Path:
    """The tiny bundled SmolLM2 file (kept for the tests and benchmarks that name it)."""
    return gguf.bundled_smollm()


def _threads(configured: int | None) -> int:
    # llama.cpp busy-waits its threads; more threads than idle cores makes it slower, not faster.
    return configured or max(1, min(4, (os.cpu_count() or 2)))


class LlamaCppLLM:
    """A GGUF model run by llama.cpp in this process.

    Besides streaming chat it can judge: `yes_probability` reads the model's next-token logits for
    "yes" and "no" after a prompt, reusing the KV cache of a prompt that shares its prefix (the
    passages just read for the answer), so a judgement costs the claim's tokens, not the passages'.
    """

    def __init__(self, model_path: str, *, name: str = "local", n_ctx: int = 4096,
                 n_threads: int | None = None, n_batch: int = 512, judges: bool = True) -> None:
        # A busy machine: threads that spin waiting for work steal the cores others need. OpenMP
        # reads this when llama.cpp's library loads, so it is set before the import.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise missing_dependency("llama-cpp-python", extra="local") from exc
        if not Path(model_path).exists():
            raise ConfigError(f"GGUF model not found at {model_path}: fix DOSSIER_LLM_MODEL_PATH")
        self.name = name
        # Whether its yes/no is worth asking: SmolLM2-135M's is not (it turned down right answers).
        self.judges = judges
        # Flash attention: prompt reading ~10% faster on this CPU (bench/answer.py), same answers.
        self._llm = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=_threads(n_threads),
                          n_threads_batch=_threads(n_threads), n_batch=n_batch, verbose=False,
                          seed=0, flash_attn=True)
        # llama.cpp contexts are not re-entrant: one generation at a time per model.
        self._lock = threading.Lock()
        self._yes_no: tuple[list[int], list[int]] | None = None

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]:
        yield from self._stream(messages, max_tokens)

    def stream_banning(self, messages: list[Message], *, max_tokens: int,
                       banned: Sequence[str]) -> Iterator[str]:
        """As `stream`, with a reply's first token never the first token of one of `banned`: the
        model's best answer when it may not give that reply. Only the first token is banned, so
        the answer itself may still say "not"."""
        ids = self._first_tokens(banned)
        seen: list[int] = []

        def first_only(input_ids: Any, scores: Any) -> Any:
            if not seen:
                seen.append(len(input_ids))
            if len(input_ids) == seen[0]:
                scores = scores.copy()
                scores[sorted(ids)] = -1e9
            return scores

        yield from self._stream(messages, max_tokens, [first_only])

    def first_token_share(self, messages: list[Message], words: Sequence[str]) -> float:
        """The probability that the reply to `messages` starts with one of `words` (as written,
        in title or lower case, with or without a leading space): a decline's weight, where the
        greedy reply only says whether it is the single likeliest first token."""
        import numpy as np

        with self._lock:
            logits = self._next_logits(messages).astype(np.float64)
        p = np.exp(logits - logits.max())
        return float(p[sorted(self._first_tokens(words))].sum() / p.sum())

    def _first_tokens(self, words: Sequence[str]) -> set[int]:
        ids: set[int] = set()
        for word in words:
            forms = {word, word.capitalize(), word.lower()}
            for variant in (*forms, *(" " + f for f in forms)):
                toks = self._llm.tokenize(variant.encode(), add_bos=False, special=False)
                if toks:
                    ids.add(toks[0])
        return ids

    def _stream(self, messages: list[Message], max_tokens: int,
                processors: list[Any] | None = None) -> Iterator[str]:
        from llama_cpp import LogitsProcessorList

        with self._lock:
            for chunk in self._llm.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                stream=True,
                temperature=0.0,
                max_tokens=max_tokens,
                logits_processor=LogitsProcessorList(processors) if processors else None,
            ):
                piece = chunk["choices"][0].get("delta", {}).get("content")  # type: ignore[index]
                if piece:
                    yield piece

    def prompt_tokens(self, messages: list[Message]) -> list[int]:
        """The tokens llama.cpp reads for these messages (the model's chat template applied)."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llm = self._llm
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise BackendError(f"{self.name}: the GGUF file has no chat template; the judge needs one")
        eos = llm._model.token_get_text(llm.token_eos())
        bos = llm._model.token_get_text(llm.token_bos()) if llm.token_bos() >= 0 else ""
        prompt = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)(messages=messages).prompt
        return llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def _next_logits(self, messages: list[Message]) -> Any:
        """The logits of the token after `messages` (hold the lock). The prompt's prefix already
        in llama.cpp's cache is not read again: a judgement after the reader's answer, or an answer
        after the decline was weighed, reads only the tokens that differ."""
        import numpy as np

        llm = self._llm
        tokens = self.prompt_tokens(messages)
        common = 0
        for a, b in zip(llm._input_ids.tolist(), tokens, strict=False):
            if a != b:
                break
            common += 1
        common = min(common, len(tokens) - 1)
        if common > 0 and llm._ctx.kv_cache_seq_rm(-1, common, -1):
            llm.n_tokens = common
        else:
            llm.reset()
            common = 0
        llm.eval(tokens[common:])
        return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).copy()

    def _answer_tokens(self) -> tuple[list[int], list[int]]:
        if self._yes_no is None:
            def ids(words: tuple[str, ...]) -> list[int]:
                out = set()
                for w in words:
                    toks = self._llm.tokenize(w.encode(), add_bos=False, special=False)
                    if len(toks) == 1:
                        out.add(toks[0])
                return sorted(out)

            self._yes_no = (ids(("yes", "Yes", " yes", " Yes", "YES")),
                            ids(("no", "No", " no", " No", "NO")))
        return self._yes_no

    def yes_probability(self, messages: list[Message]) -> float:
        """P(yes) against P(no) for the model's next token after `messages` (a yes/no question)."""
        import numpy as np

        with self._lock:
            logits = self._next_logits(messages)
            yes, no = self._answer_tokens()
            best_yes = float(np.max(logits[yes])) if yes else -1e9
            best_no = float(np.max(logits[no])) if no else -1e9
            top = max(best_yes, best_no)
            py, pn = np.exp(best_yes - top), np.exp(best_no - top)
            return float(py / (py + pn))


@lru_cache(maxsize=2)
def _llama(model_path: str, name: str, n_threads: int | None, n_ctx: int, n_batch: int,
           judges: bool) -> LlamaCppLLM:
    return LlamaCppLLM(model_path, name=name, n_ctx=n_ctx, n_threads=n_threads, n_batch=n_batch,
                       judges=judges)


def _local(settings: Settings, name: str, path: Path, judges: bool = True) -> LLM:
    return _llama(str(path), name, settings.llm_threads, settings.llm_context_tokens,
                  settings.llm_batch, judges)


@register("local")
def _make_local(settings: Settings) -> LLM:
    """The tiny bundled SmolLM2-135M, or the GGUF file DOSSIER_LLM_MODEL_PATH names."""
    if settings.llm_model_path:
        return _local(settings, "local", gguf.user_model(settings.llm_model_path))
    return _local(settings, "local", gguf.bundled_smollm(), judges=False)


@register("gguf")
def _make_gguf(settings: Settings) -> LLM:
    """Any GGUF file of the user's (Llama, Qwen, Mistral …): DOSSIER_LLM_MODEL_PATH."""
    if not settings.llm_model_path:
        raise ConfigError("DOSSIER_LLM=gguf needs DOSSIER_LLM_MODEL_PATH=/path/to/model.gguf")
    return _local(settings, "gguf", gguf.user_model(settings.llm_model_path))


@register("qwen")
def _make_qwen(settings: Settings) -> LLM:
    """Qwen2.5-Coder-1.5B-Instruct Q4_K_M, joined from its pip parts into the model cache."""
    return _local(settings, "qwen", gguf.qwen_model(settings.model_cache))


# -- HTTP backends -------------------------------------------------------------------------


def _httpx() -> Any:
    try:
        import httpx
    except ImportError as exc:
        raise missing_dependency("httpx") from exc
    return httpx


def _stream_lines(
    url: str, body: dict[str, Any], *, headers: dict[str, str], timeout: float,
    refused: str, unreachable: str, client: Any = None,
) -> Iterator[str]:
    """POST a streaming request and yield its response lines; failures become BackendErrors
    whose messages say what to fix (`refused` for an error status, `unreachable` otherwise).
    `client` is an httpx.Client to send it with (connection reuse, proxies, tests); by default a
    one-off connection."""
    httpx = _httpx()
    sender = client if client is not None else httpx
    try:
        with sender.stream("POST", url, json=body, headers=headers, timeout=timeout) as response:
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

    def __init__(self, base_url: str, api_key: str, model: str, timeout: float,
                 client: Any = None) -> None:
        self.name = "openai"
        self._client = client
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
            client=self._client,
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
    def __init__(self, url: str, model: str, timeout: float, client: Any = None) -> None:
        self.name = "ollama"
        self._client = client
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
            client=self._client,
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
