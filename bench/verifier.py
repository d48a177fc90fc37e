"""How well the verifier separates faithful LLM sentences from invented ones, on draft sentences
taken from real runs (bench/reader.py results) and labelled by hand.

    python bench/verifier.py export bench/results/reader_qwen_dev.json [...]
        → eval/verifier/draft_sentences.jsonl: one row per draft sentence with the question
          and the text of the passages it cites; the verifier's verdict is NOT in it, so the
          labels are given blind (kept aside in bench/results/verifier_verdicts.json)
    python bench/verifier.py score
        → reads eval/verifier/labels.jsonl ({"id", "label": "faithful" | "invented",
          "invented": "figure" | "name" | "date" | "entity" | "other" | ""}) and reports the
          share of faithful sentences the verifier dropped and of invented ones it kept
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, RESULTS, write_result

OUT = REPO / "eval" / "verifier"
VERDICTS = RESULTS / "verifier_verdicts.json"
_MARK = re.compile(r"\[(\d+)\]")


def export(paths: list[Path]) -> int:
    rows, verdicts = [], {}
    for path in paths:
        data = json.loads(path.read_text())
        for key, questions in data["questions"].items():
            for q in questions:
                passages = q.get("retrieved") or []
                for i, check in enumerate(q.get("checks") or []):
                    if check.get("reason") in ("fragment, not a claim",):
                        continue
                    cited = [n for n in check.get("cited", []) if 1 <= n <= len(passages)]
                    rid = f"{key.split('/')[0]}-{q['id']}-{i + 1}"
                    rows.append({"id": rid, "question": q["question"], "sentence": check["text"],
                                 "cited": cited,
                                 "passages": {str(n): passages[n - 1]["text"] for n in cited}
                                 or {str(n + 1): p["text"] for n, p in enumerate(passages[:4])}})
                    verdicts[rid] = {"supported": check["supported"], "reason": check.get("reason", "")}
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "draft_sentences.jsonl").open("w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    RESULTS.mkdir(parents=True, exist_ok=True)
    VERDICTS.write_text(json.dumps(verdicts, indent=1))
    print(f"{len(rows)} draft sentences → {OUT / 'draft_sentences.jsonl'}")
    return 0


def score() -> int:
    verdicts = json.loads(VERDICTS.read_text())
    labels = [json.loads(line) for line in (OUT / "labels.jsonl").read_text().splitlines() if line.strip()]
    faithful = [x for x in labels if x["label"] == "faithful"]
    invented = [x for x in labels if x["label"] == "invented"]
    dropped = [x for x in faithful if not verdicts[x["id"]]["supported"]]
    kept = [x for x in invented if verdicts[x["id"]]["supported"]]
    by_kind: dict[str, list[int]] = {}
    for x in invented:
        kind = x.get("invented") or "other"
        by_kind.setdefault(kind, [0, 0])
        by_kind[kind][0] += 1
        by_kind[kind][1] += verdicts[x["id"]]["supported"]
    result = {
        "sentences": len(labels), "faithful": len(faithful), "invented": len(invented),
        "faithful_dropped": len(dropped),
        "faithful_dropped_share": round(len(dropped) / max(1, len(faithful)), 3),
        "invented_kept": len(kept), "invented_kept_share": round(len(kept) / max(1, len(invented)), 3),
        "invented_by_kind": {k: {"n": n, "kept": k_} for k, (n, k_) in sorted(by_kind.items())},
        "faithful_dropped_examples": [{"id": x["id"], "reason": verdicts[x["id"]]["reason"]}
                                      for x in dropped[:20]],
        "invented_kept_ids": [x["id"] for x in kept],
    }
    print(json.dumps({k: v for k, v in result.items() if not k.endswith(("examples", "ids"))}, indent=1))
    write_result("verifier", {"benchmark": "verifier", **result})
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("command", choices=["export", "score"])
    ap.add_argument("results", nargs="*", type=Path)
    args = ap.parse_args()
    return export(args.results) if args.command == "export" else score()


if __name__ == "__main__":
    raise SystemExit(main())
