"""Load on the running chat UI: many concurrent chat sessions over the real HTTP protocol.

The real UI (`ui.app.launch`) serves the sample corpus on a free loopback port with the
deterministic `extractive` backend. Each session is one `gradio_client.Client` (its own Gradio
session, so its own `gr.State` chat) asking its own sequence of gold questions. First every
session's sequence is asked alone, one session at a time: the reference. Then all sessions run at
once. Every concurrent session must see exactly what it saw alone — the same chat history (its
own questions, in order, and nobody else's), the same answers, the same cited passages — and no
request may fail. Latency per request is reported (printed and written as JSON under the
server's DOSSIER_HOME) but not asserted beyond a generous bound on the whole run: speed targets
live in bench/.

Full size: 16 sessions × 10 questions (DOSSIER_LONG_TESTS=1); CI: 4 × 3.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import serve_ui
from scale import scaled

from core.settings import Settings

SESSIONS = scaled(16, 4)
QUESTIONS_PER_SESSION = scaled(10, 3)
# Generous: the full run is 160 answers on 2 shared cores; CI's is 12.
MAX_TOTAL_SECONDS = 900

pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.timeout(1800)]


@dataclass
class Served:
    url: str
    settings: Settings


@dataclass
class Turn:
    """What one request returned to its session, as the browser would receive it."""

    chat: list[dict[str, Any]]
    sources: str
    markdown: str
    seconds: float


@dataclass
class SessionRun:
    questions: list[str]
    turns: list[Turn] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder: Any, corpus_dir: Path) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("ui_load")
    with serve_ui(root, [corpus_dir], embedder, expect_added=5) as (url, settings):
        yield Served(url, settings)


def sequences(gold_questions: list[Any]) -> list[list[str]]:
    """Each session's own questions: a different stride through the gold set, so that sessions
    ask different things in different orders (and follow-up-looking ones, such as "Why …",
    depend on that session's own previous question)."""
    pool = [q.question for q in gold_questions]
    n = len(pool)
    out = []
    for s in range(SESSIONS):
        # a stride coprime with the pool size visits distinct questions
        strides = [d for d in (1, 5, 7, 11, 13, 19, 23, 25, 29, 31) if math.gcd(d, n) == 1]
        stride = strides[s % len(strides)]
        start = (s * 29) % n
        seq = [pool[(start + j * stride) % n] for j in range(QUESTIONS_PER_SESSION)]
        assert len(set(seq)) == len(seq)
        out.append(seq)
    return out


def run_session(url: str, questions: list[str]) -> SessionRun:
    """One user: one client (one Gradio session), questions asked one after another."""
    from gradio_client import Client

    run = SessionRun(questions)
    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # reported as an error of this session, not a crash of the test
        run.errors.append(f"connect: {exc!r}")
        return run
    for q in questions:
        started = time.perf_counter()
        try:
            chat, _box, sources, _viewer, md = client.predict(q, 5, "extractive", 0.5, api_name="/ask")
        except Exception as exc:
            run.errors.append(f"{q!r}: {exc!r}")
            continue
        run.turns.append(Turn(chat, sources, md, time.perf_counter() - started))
    return run


def _text(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def _plain(message: dict[str, Any]) -> str:
    """A chat message as the user reads it (the UI escapes Markdown with backslashes)."""
    return re.sub(r"\\(.)", r"\1", _text(message))


def cited_sources(sources_html: str) -> list[str]:
    return re.findall(r'<span class="dz-src">([^<]*)</span>', sources_html)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def test_concurrent_sessions_keep_their_own_history_and_citations(served: Served, gold_questions) -> None:
    plans = sequences(gold_questions)

    # The reference: each session's sequence alone, one session at a time.
    alone = [run_session(served.url, seq) for seq in plans]
    for run in alone:
        assert run.errors == [], run.errors
    answered = sum(1 for run in alone for t in run.turns if cited_sources(t.sources) and
                   "Closest passages" not in t.sources)
    assert answered >= len(plans) * QUESTIONS_PER_SESSION // 2, "precondition: most questions cite"

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=SESSIONS) as pool:
        together = list(pool.map(lambda seq: run_session(served.url, seq), plans))
    total = time.perf_counter() - started

    errors = [e for run in together for e in run.errors]
    assert errors == [], errors
    for i, (ref, run) in enumerate(zip(alone, together, strict=True)):
        assert len(run.turns) == len(run.questions) == QUESTIONS_PER_SESSION
        for j, (want, got) in enumerate(zip(ref.turns, run.turns, strict=True)):
            where = f"session {i}, question {j + 1}: {run.questions[j]!r}"
            # the history holds exactly this session's questions so far, in order
            assert [_plain(m) for m in got.chat[0::2]] == run.questions[: j + 1], where
            assert all(m["role"] == "user" for m in got.chat[0::2]), where
            assert len(got.chat) == 2 * (j + 1), where
            assert "Could not answer" not in _text(got.chat[-1]), (where, _text(got.chat[-1]))
            # the answer and its citations are the ones this question gets on its own
            assert got.chat == want.chat, where
            assert got.markdown == want.markdown, where
            assert got.sources == want.sources, where
            assert cited_sources(got.sources) == cited_sources(want.sources), where

    latencies = [t.seconds * 1000 for run in together for t in run.turns]
    report = {
        "sessions": SESSIONS,
        "questions_per_session": QUESTIONS_PER_SESSION,
        "requests": len(latencies),
        "errors": len(errors),
        "backend": "extractive",
        "total_seconds": round(total, 2),
        "latency_p50_ms": round(percentile(latencies, 50), 1),
        "latency_p95_ms": round(percentile(latencies, 95), 1),
        "latency_max_ms": round(max(latencies), 1),
        "latency_mean_ms": round(statistics.fmean(latencies), 1),
        "alone_p50_ms": round(percentile([t.seconds * 1000 for r in alone for t in r.turns], 50), 1),
    }
    out = served.settings.home / "load" / "ui_load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nUI load: {json.dumps(report)}\nwritten to {out}")
    assert total < MAX_TOTAL_SECONDS, report
