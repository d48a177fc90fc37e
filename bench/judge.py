"""How well the LLM judge tells answers from non-answers, per judge prompt.

Candidates come from bench/reader.py results: each question's verified LLM sentences and the
rules' quote. A candidate is right when its question is answerable and it holds a gold answer;
every candidate for an unanswerable question is wrong. Each judge prompt in JUDGE_ASKS scores
every candidate (passages read once per question, the prompt prefix reused); the report gives
the AUC and the accuracy at the best threshold per prompt.

    python bench/judge.py bench/results/reader_qwen_dev_v3.json [--homes /tmp/dossier-bench-reader]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import offline_env, print_table, write_result

offline_env()

from core.settings import Settings  # noqa: E402
from eval.metrics import contains_answer  # noqa: E402
from index.embedder import make_embedder  # noqa: E402
from qa import Assistant  # noqa: E402
from qa.judge import JUDGE_ASK, Judge  # noqa: E402
from qa.llm import make_llm  # noqa: E402

JUDGE_ASKS = {
    "current": JUDGE_ASK,
    "exact": ("Proposed answer: {answer}\n"
              "Does the proposed answer give exactly what the question asks for (the number, name, "
              "date, place or reason asked), and do the passages state it? Reply yes or no."),
    "strict": ("Proposed answer: {answer}\n"
               "Question again: is the proposed answer stated in the passages AND is it the specific "
               "answer to the question, not just related information? Reply yes or no."),
}


def _auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def _best_accuracy(pos: list[float], neg: list[float]) -> tuple[float, float]:
    best = (0.0, 0.5)
    for t in sorted(set(pos + neg)):
        acc = (sum(p >= t for p in pos) + sum(n < t for n in neg)) / max(1, len(pos) + len(neg))
        best = max(best, (acc, t))
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("results", nargs="+", type=Path)
    ap.add_argument("--homes", type=Path, default=Path("/tmp/dossier-bench-reader"))
    args = ap.parse_args()
    base = Settings(llm="qwen")
    embedder = make_embedder(base)
    llm = make_llm(base)
    scores: dict[str, dict[str, list[float]]] = {k: {"pos": [], "neg": []} for k in JUDGE_ASKS}
    for path in args.results:
        data = json.loads(path.read_text())
        for key, questions in data["questions"].items():
            name = key.split("/")[0]
            home = args.homes / ("gold" if name == "gold" else f"set{name}")
            assistant = Assistant(base.model_copy(update={"home": home}), llm=llm, embedder=embedder)
            for q in questions:
                readings = q.get("readings") or {}
                candidates = []
                for reader in ("llm", "rules"):
                    text = ((readings.get(reader) or {}).get("answer") or "").strip()
                    if text:
                        candidates.append(text)
                if not candidates:
                    continue
                passages = assistant.search(q["question"])
                rules = assistant._rule_reader().run(q["question"], q["question"], passages)
                given = assistant._llm_reader(llm, True).prompt_passages(rules)
                for text in candidates:
                    right = q["answerable"] and contains_answer(text, q["gold"])
                    for variant, ask in JUDGE_ASKS.items():
                        judge = Judge(llm)  # type: ignore[arg-type]
                        messages = judge.messages(q["question"], given, text)
                        head = messages[-1]["content"][: messages[-1]["content"].index("Proposed answer:")]
                        messages[-1]["content"] = head + ask.format(answer=" ".join(text.split()))
                        p = llm.yes_probability(messages)  # type: ignore[attr-defined]
                        scores[variant]["pos" if right else "neg"].append(p)
    rows = []
    for variant, s in scores.items():
        acc, threshold = _best_accuracy(s["pos"], s["neg"])
        rows.append([variant, len(s["pos"]), len(s["neg"]), round(_auc(s["pos"], s["neg"]), 3),
                     round(acc, 3), round(threshold, 3)])
    print_table(["prompt", "right", "wrong", "AUC", "best accuracy", "at P(yes) ≥"], rows,
                "the judge on the readers' candidate answers")
    write_result("judge", {"benchmark": "judge", "rows": rows, "scores": scores})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
