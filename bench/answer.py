#!/usr/bin/env python
"""Answer latency per backend: time to the first streamed token and total answer time.

The sample corpus is indexed once (real embedder) into a temporary DOSSIER_HOME; then every gold
question is asked through `Assistant.ask_stream` (what the UI and `dossier ask` use) with each
backend in turn, question by question (interleaved, so other load on the shared machine hits
every backend alike):

  extractive  no LLM: quoted source sentences (nothing streams; the first output is the answer)
  local       the bundled SmolLM2-135M GGUF via llama-cpp-python, in process (the default)
  openai      the same GGUF behind a real `python -m llama_cpp.server` on 127.0.0.1, through the
              OpenAI-compatible HTTP backend

Each backend answers one warm-up question first (model load, caches), not timed. Per question:
  first token   ask_stream() called → first "token" event (questions where the LLM streamed);
                for the extractive backend, and for questions abstained before generation,
                the first output is the final answer, counted under `first_output`
  total         ask_stream() called → the final "answer" event
  breakdown     retrieval (query encode + Chroma + BM25 + fusion), evidence (sentence encoding,
                ranking, abstention check: before the LLM is called), prompt evaluation (LLM
                called → first piece), generation (first → last piece), verification (last
                piece → answer)

Targets (issue 3, default `local` backend): answer p50 ≤ 2 s, first streamed token ≤ 1 s.

    python bench/answer.py [--backends extractive,local,openai] [--questions N]
    python bench/answer.py --smoke          # 1 question, for CI
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    GOLD,
    SAMPLE_CORPUS,
    Timer,
    code_version,
    exit_cleanly_on_sigterm,
    free_port,
    load_gold,
    machine,
    offline_env,
    percentile,
    print_table,
    serve,
    write_result,
)

BACKENDS = ("extractive", "local", "openai", "qwen")
# local: issue 3. qwen (issue 16): the quote visible within 1 s, the final answer p50 ≤ 12 s,
# p95 ≤ 25 s.
TARGETS = {"local": {"total_p50_s": 2.0, "first_token_p50_s": 1.0},
           "qwen": {"total_p50_s": 12.0, "total_p95_s": 25.0, "quote_p50_s": 1.0}}


class TimedLLM:
    """Passes an LLM through, noting when it was called, its first and last piece, and the
    prompt it was given."""

    def __init__(self, inner: Any, count_tokens: Any = None) -> None:
        self._inner = inner
        self.name = inner.name
        self._count = count_tokens
        self.reset()

    def reset(self) -> None:
        self.called: float | None = None
        self.first: float | None = None
        self.last: float | None = None
        self.pieces = 0
        self.messages: list[dict[str, str]] | None = None

    def prompt_size(self) -> tuple[int | None, int]:
        """(tokens, characters) of the last prompt; counted after the answer, off the clock."""
        if self.messages is None:
            return None, 0
        chars = sum(len(m["content"]) for m in self.messages)
        return (self._count(self.messages) if self._count else None), chars

    def __getattr__(self, name: str) -> Any:
        # The judge (yes_probability) and its flag pass through untimed: the Assistant must see
        # the same capabilities as the model has.
        return getattr(self._inner, name)

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int) -> Iterator[str]:
        self.called = time.perf_counter()
        self.messages = messages
        for piece in self._inner.stream(messages, max_tokens=max_tokens):
            now = time.perf_counter()
            if self.first is None:
                self.first = now
            self.last = now
            self.pieces += 1
            yield piece


class TimedEmbedder:
    """Passes the embedder through and adds up the time spent encoding (query and sentences)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.seconds = 0.0
        self.texts = 0

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        t0 = time.perf_counter()
        try:
            return self._inner.encode(texts, batch_size=batch_size)
        finally:
            self.seconds += time.perf_counter() - t0
            self.texts += len(texts)


def llama_token_counter(llm: Any) -> Any:
    """Prompt tokens as llama.cpp sees them (chat template applied), for the in-process models."""
    if not hasattr(llm, "prompt_tokens"):
        return None

    def count(messages: list[dict[str, str]]) -> int:
        try:
            return len(llm.prompt_tokens(messages))
        except Exception:  # the count is a diagnostic: fall back to the raw contents
            return sum(len(llm._llm.tokenize(m["content"].encode(), add_bos=False)) for m in messages)

    return count


def spread(items: list[Any], n: int) -> list[Any]:
    if n <= 0 or n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def ask_once(assistant: Any, llm: TimedLLM | None, emb: TimedEmbedder, question: str) -> dict[str, Any]:
    if llm is not None:
        llm.reset()
    emb.seconds, emb.texts = 0.0, 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    first_token = None
    first_quote = None
    answer = None
    for event in assistant.ask_stream(question):
        if event.kind == "quote" and first_quote is None:
            first_quote = time.perf_counter()
        elif event.kind == "token" and first_token is None:
            first_token = time.perf_counter()
        elif event.kind == "answer":
            answer = event.answer
    t_end = time.perf_counter()
    assert answer is not None
    timings = answer.timings_ms or {}
    retrieve_s = timings.get("retrieve", 0.0) / 1000
    row: dict[str, Any] = {
        "total_s": t_end - t0,
        # CPU of this process (the openai backend's model runs in the server, not counted here)
        "cpu_s": time.process_time() - cpu0,
        "first_token_s": None if first_token is None else first_token - t0,
        "first_output_s": (first_token or t_end) - t0,
        # what the user first sees: the quote, or the final answer when there is none
        "first_visible_s": (first_quote or t_end) - t0,
        "quote_s": None if first_quote is None else first_quote - t0,
        "judge_s": timings.get("judge", 0.0) / 1000,
        "retrieve_s": retrieve_s,
        "encode_s": emb.seconds,
        "encoded_texts": emb.texts,
        "abstained": answer.abstained,
        "mode": answer.mode,
        "answer": answer.answer,
    }
    if llm is not None and llm.called is not None:
        tokens, chars = llm.prompt_size()
        row.update(
            evidence_s=llm.called - t0 - retrieve_s,
            prompt_eval_s=(llm.first - llm.called) if llm.first else None,
            generation_s=(llm.last - llm.first) if llm.first and llm.last else 0.0,
            verify_s=t_end - (llm.last or llm.called),
            pieces=llm.pieces, prompt_tokens=tokens, prompt_chars=chars,
        )
    else:
        row["evidence_and_verify_s"] = t_end - t0 - retrieve_s
    return row


def stats(rows: list[dict[str, Any]], key: str) -> dict[str, float | None]:
    vals = [r[key] for r in rows if r.get(key) is not None]
    if not vals:
        return {"n": 0, "p50": None, "p95": None, "mean": None}
    return {"n": len(vals), "p50": round(percentile(vals, 50), 3), "p95": round(percentile(vals, 95), 3),
            "mean": round(sum(vals) / len(vals), 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--backends", default=",".join(BACKENDS))
    ap.add_argument("--questions", type=int, default=0,
                    help="an evenly spread subset of N gold questions (0 = all)")
    ap.add_argument("--server-threads", type=int, default=2, help="llama_cpp.server --n_threads")
    ap.add_argument("--max-tokens", type=int, default=None,
                    help="LLM answer length cap (default: the settings default, DOSSIER_LLM_MAX_TOKENS)")
    ap.add_argument("--smoke", action="store_true", help="1 question, 32-token answers (CI)")
    ap.add_argument("--name", default=None, help="results file name (default answer / answer_smoke)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.questions, args.max_tokens = 1, args.max_tokens or 32
    name = args.name or ("answer_smoke" if args.smoke else "answer")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        ap.error(f"unknown backends {sorted(unknown)}; choose from {list(BACKENDS)}")

    offline_env()
    exit_cleanly_on_sigterm()
    from core.settings import Settings
    from eval.metrics import contains_answer
    from index.embedder import make_embedder
    from index.ingest import ingest
    from qa import Assistant
    from qa.llm import bundled_gguf, make_llm

    gold = spread(load_gold(GOLD), args.questions)
    tmp = Path(tempfile.mkdtemp(prefix="dossier-bench-answer-"))
    try:
        base = Settings(home=tmp / "home", llm="extractive")
        if args.max_tokens:
            base = base.model_copy(update={"llm_max_tokens": args.max_tokens})
        embedder = make_embedder(base)
        report = ingest([SAMPLE_CORPUS], base, embedder=embedder)
        print(f"indexed {report.chunks} chunks; {len(gold)} questions; backends {backends}", flush=True)

        with _maybe_server("openai" in backends, tmp, args.server_threads) as (server_url, started_s):
            runners: dict[str, tuple[Any, TimedLLM | None, TimedEmbedder]] = {}
            load_s: dict[str, float] = {}
            for b in backends:
                settings = base.model_copy(update={"llm": b, "openai_base_url": server_url or ""})
                with Timer() as t_load:
                    inner = make_llm(settings)
                emb = TimedEmbedder(embedder)
                llm = TimedLLM(inner, llama_token_counter(inner)) if inner is not None else None
                assistant = Assistant(settings, llm=llm, embedder=emb, use_llm=llm is not None)
                with Timer() as t_warm:  # model load (local), connection, caches: not timed
                    assistant.ask(gold[0]["question"])
                load_s[b] = round(t_load.wall + t_warm.wall, 2)
                runners[b] = (assistant, llm, emb)
                print(f"  {b}: ready (load + warm-up {load_s[b]} s)", flush=True)

            per_q: dict[str, list[dict[str, Any]]] = {b: [] for b in backends}
            for i, q in enumerate(gold, 1):
                for b in backends:
                    assistant, llm, emb = runners[b]
                    row = ask_once(assistant, llm, emb, q["question"])
                    row["id"] = q["id"]
                    row["answerable"] = bool(q.get("answerable"))
                    row["correct"] = (bool(q.get("answerable")) and not row["abstained"]
                                      and contains_answer(row["answer"], q.get("answers", [])))
                    per_q[b].append(row)
                if i % 10 == 0 or i == len(gold):
                    print(f"  {i}/{len(gold)} questions", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    summary: dict[str, dict[str, Any]] = {}
    for b, rows in per_q.items():
        streamed = [r for r in rows if r.get("first_token_s") is not None]
        s: dict[str, Any] = {
            "questions": len(rows),
            "streamed": len(streamed),
            "abstained": sum(r["abstained"] for r in rows),
            "answer_accuracy": round(sum(r["correct"] for r in rows)
                                     / max(1, sum(r["answerable"] for r in rows)), 3),
            "load_and_warmup_s": load_s[b],
            "total_s": stats(rows, "total_s"),
            "cpu_s": stats(rows, "cpu_s"),
            "first_token_s": stats(rows, "first_token_s"),
            "first_output_s": stats(rows, "first_output_s"),
            "first_visible_s": stats(rows, "first_visible_s"),
            "quote_s": stats(rows, "quote_s"),
            "judge_s": stats(rows, "judge_s"),
            "retrieve_s": stats(rows, "retrieve_s"),
            "encode_s": stats(rows, "encode_s"),
            # on the questions where the LLM was called
            "evidence_s": stats(rows, "evidence_s"),
            "prompt_eval_s": stats(rows, "prompt_eval_s"),
            "generation_s": stats(rows, "generation_s"),
            "verify_s": stats(rows, "verify_s"),
            "prompt_tokens": stats(rows, "prompt_tokens"),
            "pieces": stats(rows, "pieces"),
            "total_s_when_streamed": stats(streamed, "total_s"),
        }
        pe = [r["prompt_tokens"] / r["prompt_eval_s"] for r in streamed
              if r.get("prompt_tokens") and r.get("prompt_eval_s")]
        s["prompt_eval_tokens_per_s_p50"] = round(percentile(pe, 50), 1) if pe else None
        gen = [(r["pieces"] - 1) / r["generation_s"] for r in streamed
               if r.get("pieces", 0) > 1 and r.get("generation_s")]
        s["generation_pieces_per_s_p50"] = round(percentile(gen, 50), 1) if gen else None
        if b in TARGETS:
            s["targets"] = TARGETS[b]
            s["meets_total_p50"] = (s["total_s"]["p50"] or 1e9) <= TARGETS[b]["total_p50_s"]
            t = TARGETS[b]
            if "first_token_p50_s" in t:
                s["meets_first_token_p50"] = (s["first_token_s"]["p50"] or 1e9) <= t["first_token_p50_s"]
            if "total_p95_s" in t:
                s["meets_total_p95"] = (s["total_s"]["p95"] or 1e9) <= t["total_p95_s"]
            if "quote_p50_s" in t:
                s["meets_quote_p50"] = (s["first_visible_s"]["p50"] or 1e9) <= t["quote_p50_s"]
        summary[b] = s

    def p(d: dict[str, Any], key: str, q: str = "p50") -> Any:
        v = d[key][q]
        return "" if v is None else v

    print_table(
        ["backend", "questions", "streamed", "abstained", "accuracy", "first token p50 s", "p95",
         "first visible p50 s", "p95", "total p50 s", "p95", "load+warm s"],
        [[b, s["questions"], s["streamed"], s["abstained"], s["answer_accuracy"],
          p(s, "first_token_s"), p(s, "first_token_s", "p95"), p(s, "first_visible_s"),
          p(s, "first_visible_s", "p95"),
          p(s, "total_s"), p(s, "total_s", "p95"), s["load_and_warmup_s"]] for b, s in summary.items()],
        "answer latency (seconds; interleaved over the same questions)")
    print_table(
        ["backend", "retrieve", "evidence", "prompt eval", "generation", "verify", "encode (all)",
         "prompt tokens", "prompt tok/s", "pieces/s"],
        [[b, p(s, "retrieve_s"), p(s, "evidence_s"), p(s, "prompt_eval_s"), p(s, "generation_s"),
          p(s, "verify_s"), p(s, "encode_s"), p(s, "prompt_tokens"),
          s["prompt_eval_tokens_per_s_p50"] or "", s["generation_pieces_per_s_p50"] or ""]
         for b, s in summary.items()],
        "where the time goes (medians, seconds; first token = retrieve + evidence + prompt eval)")
    for b, s in summary.items():
        for key, met in (("total_p50_s", "meets_total_p50"), ("total_p95_s", "meets_total_p95"),
                         ("first_token_p50_s", "meets_first_token_p50"),
                         ("quote_p50_s", "meets_quote_p50")):
            if key in s.get("targets", {}):
                print(f"{b}: {key} target ≤ {s['targets'][key]}: {'met' if s[met] else 'NOT met'}")

    result = {
        "benchmark": "answer",
        "smoke": args.smoke,
        "machine": machine(),
        "code": code_version(),
        "questions": len(gold),
        "backends": backends,
        "settings": {"k": base.k, "llm_context_passages": base.llm_context_passages,
                     "llm_max_tokens": base.llm_max_tokens, "gguf": str(bundled_gguf())
                     if {"local", "openai"} & set(backends) else None,
                     "server_threads": args.server_threads},
        "openai_server_start_s": started_s,
        "summary": summary,
        "per_question": {b: [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()
                              if k != "answer"} for r in rows] for b, rows in per_q.items()},
    }
    path = write_result(name, result)
    print(f"\nwrote {path}")
    return 0


@contextlib.contextmanager
def _maybe_server(wanted: bool, tmp: Path, threads: int) -> Iterator[tuple[str | None, float | None]]:
    """A real llama.cpp OpenAI-compatible server serving the bundled GGUF, when needed."""
    if not wanted:
        yield None, None
        return
    from qa.llm import bundled_gguf

    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    # Same context size as the in-process backend (qa.llm.LlamaCppLLM), so both do the same work.
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf()),
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
           "--n_threads", str(threads), "--verbose", "False"]
    t0 = time.perf_counter()
    with serve(cmd, f"{base}/models", tmp / "llama-server.log", "llama.cpp server"):
        yield base, round(time.perf_counter() - t0, 2)


if __name__ == "__main__":
    sys.exit(main())
