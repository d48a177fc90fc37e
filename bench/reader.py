"""The answering core on gold and held-out question sets, per backend, with both readers' work kept.

    python bench/reader.py --sets gold,5,6 --half dev --backends qwen,extractive
    python bench/reader.py --sets 7,8 --backends qwen          # a first run: all questions
    python bench/reader.py --sets open --half dev               # open questions, key points

Each held-out set is indexed once (its documents + 600 seeded haystack distractors, as
bench/heldout.py does) under --homes (default /tmp/dossier-bench-reader) and reused. `--half dev`
takes the odd-numbered questions (the development half, whose failures may be studied), `test`
the even ones. `--cache FILE` keeps every LLM call (stream and judge) keyed by its prompt, so a
change to the composer can be re-measured in seconds; never use it for a reported first run of
a changed prompt. Writes bench/results/reader_<tag>.json with each question's outcome, the
reader that answered, the judge's scores, both readers' answers and the draft.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HAYSTACK, REPO, offline_env, print_table, write_result

offline_env()

from core.settings import Settings  # noqa: E402
from eval.baseline import save_baseline  # noqa: E402
from eval.gold import load_gold  # noqa: E402
from eval.runner import run_eval  # noqa: E402
from index.embedder import make_embedder  # noqa: E402
from index.ingest import ingest  # noqa: E402
from qa import Assistant  # noqa: E402
from qa.llm import make_llm  # noqa: E402

METRICS = ["evidence_hit@5", "answer_accuracy", "citation_precision", "sentence_support",
           "abstain_accuracy", "false_abstain_rate", "latency_p50_ms", "latency_p95_ms"]
# The open-question set (eval/gold/open_questions.jsonl) is scored by its key points.
OPEN_METRICS = ["key_point_evidence_recall@10", "key_point_recall", "open_citation_precision",
                "open_sentence_support", "open_declined_rate", "abstain_accuracy",
                "latency_p50_ms", "latency_p95_ms"]
GOLD = REPO / "eval" / "gold"


class _Cache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data: dict[str, Any] = {}
        if path and path.exists():
            for line in path.read_text().splitlines():
                row = json.loads(line)
                self.data[row["k"]] = row["v"]

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def put(self, key: str, value: Any) -> None:
        self.data[key] = value
        if self.path:
            with self.path.open("a") as f:
                f.write(json.dumps({"k": key, "v": value}) + "\n")


def _key(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class CachedLLM:
    def __init__(self, inner: Any, cache: _Cache) -> None:
        self.inner, self.cache, self.name = inner, cache, inner.name

    def _memo(self, key: str, compute: Any) -> Any:
        hit = self.cache.get(key)
        if hit is None:
            hit = compute()
            self.cache.put(key, hit)
        return hit

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int) -> Iterator[str]:
        yield self._memo(_key(self.name, "stream", messages, max_tokens),
                         lambda: "".join(self.inner.stream(messages, max_tokens=max_tokens)))


class CachedJudgingLLM(CachedLLM):
    def stream_banning(self, messages: list[dict[str, str]], *, max_tokens: int,
                       banned: Any) -> Iterator[str]:
        yield self._memo(_key(self.name, "banning", messages, max_tokens, list(banned)),
                         lambda: "".join(self.inner.stream_banning(messages, max_tokens=max_tokens,
                                                                   banned=banned)))

    def first_token_share(self, messages: list[dict[str, str]], words: Any) -> float:
        return float(self._memo(_key(self.name, "first", messages, list(words)),
                                lambda: self.inner.first_token_share(messages, words)))

    def yes_probability(self, messages: list[dict[str, str]]) -> float:
        return float(self._memo(_key(self.name, "judge", messages),
                                lambda: self.inner.yes_probability(messages)))


def _home_for(name: str, homes: Path, distractors: int, seed: int, embedder: Any) -> tuple[Path, list]:
    if name == "gold":
        questions = load_gold(GOLD / "sample.jsonl")
        home = homes / "gold"
        if not (home / "catalog.sqlite").exists():
            ingest([REPO / "data" / "corpus"], Settings(home=home), embedder=embedder)
        return home, questions
    from common import link_corpus
    from heldout import build_corpus

    if name == "open":
        gold = GOLD / "open_questions.jsonl"
    else:
        gold = GOLD / ("heldout_haystack.jsonl" if name == "1" else f"heldout_haystack{name}.jsonl")
    questions = load_gold(gold)
    home = homes / f"set{name}"
    if not (home / "catalog.sqlite").exists():
        if not HAYSTACK.is_dir():
            raise SystemExit(f"set {name} needs the haystack at {HAYSTACK}")
        corpus = homes / f"set{name}-corpus"
        sample = {p.name: p for p in (REPO / "data" / "corpus").glob("*.txt")}
        sources = {s for q in questions for s in [*q.sources, *(p.source for p in q.key_points)]}
        build_corpus(corpus, sources - set(sample), distractors, seed)
        if name == "open":  # the open set asks about the sample corpus too
            link_corpus(corpus, list(sample.values()))
        ingest([corpus], Settings(home=home), embedder=embedder)
    return home, questions


def _half(questions: list, half: str) -> list:
    if half == "all":
        return questions
    keep = 1 if half == "dev" else 0
    return [q for i, q in enumerate(questions, 1) if i % 2 == keep]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sets", default="gold", help="gold and/or held-out set numbers, comma-separated")
    ap.add_argument("--half", choices=["dev", "test", "all"], default="all")
    ap.add_argument("--backends", default="qwen")
    ap.add_argument("--homes", type=Path, default=Path("/tmp/dossier-bench-reader"))
    ap.add_argument("--distractors", type=int, default=600)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--cache", type=Path, help="LLM call cache (JSON lines); studied runs only")
    ap.add_argument("--tag", default="")
    ap.add_argument("--limit", type=int, default=0, help="first N questions of each set")
    ap.add_argument("--save-baseline", type=Path,
                    help="save the (last) run as a baseline for `dossier eval --baseline`")
    args = ap.parse_args()

    args.homes.mkdir(parents=True, exist_ok=True)
    base = Settings()
    embedder = make_embedder(base)
    cache = _Cache(args.cache)
    rows: list[dict[str, Any]] = []
    details: dict[str, Any] = {}
    for name in [s.strip() for s in args.sets.split(",") if s.strip()]:
        home, questions = _home_for(name, args.homes, args.distractors, args.seed, embedder)
        questions = _half(questions, args.half)
        if args.limit:
            questions = questions[: args.limit]
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            settings = base.model_copy(update={"home": home, "llm": backend})
            llm = make_llm(settings)
            if llm is not None and args.cache:
                llm = (CachedJudgingLLM if hasattr(llm, "yes_probability") else CachedLLM)(llm, cache)
            assistant = Assistant(settings, embedder=embedder, llm=llm, use_llm=llm is not None)
            t0 = time.perf_counter()
            run = run_eval(questions, settings, assistant=assistant)
            if args.save_baseline:
                save_baseline(run, args.save_baseline)
            m = run["metrics"]
            rows.append({"set": name, "backend": backend, "n": len(questions),
                         **{k: m.get(k) for k in (OPEN_METRICS if name == "open" else METRICS)},
                         "seconds": round(time.perf_counter() - t0)})
            per = []
            for gold, pq, out in zip(questions, run["per_question"], run["outcomes"], strict=True):
                r = pq["result"] or {}
                per.append({"id": gold.id, "question": gold.question, "answerable": gold.answerable,
                            "gold": gold.answers or [p.answers for p in gold.key_points],
                            "points_found": out.get("key_points_found"),
                            "right": bool(out.get("correct")) if gold.answerable
                            else bool(out.get("abstained")), "abstained": out.get("abstained"),
                            "answer": r.get("answer"), "reader": r.get("reader"), "why": r.get("why"),
                            "judgements": r.get("judgements"), "readings": r.get("readings"),
                            "checks": list(r.get("checks") or []),
                            "retrieved": [{"source": p["source"], "text": p["text"]}
                                          for p in pq["retrieved"][:5]],
                            "seconds": round(r.get("timings_ms", {}).get("total", 0) / 1000, 1)})
            details[f"{name}/{backend}"] = per
            wrong = [p["id"] for p in per if not p["right"]]
            print(f"set {name} {backend}: {len(wrong)} of {len(per)} not right: {', '.join(wrong)}",
                  flush=True)
    for group, metrics in (("factoid", METRICS), ("open", OPEN_METRICS)):
        chosen = [r for r in rows if (r["set"] == "open") == (group == "open")]
        if not chosen:
            continue
        cols = ["set", "backend", "n", *metrics, "seconds"]
        print_table(cols, [[r.get(c) if not isinstance(r.get(c), float) else round(r[c], 3)
                            for c in cols] for r in chosen], title=f"answering core ({args.half}, {group})")
    path = write_result(f"reader_{args.tag or args.half}", {"benchmark": "reader", "half": args.half,
                                                            "rows": rows, "questions": details})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
