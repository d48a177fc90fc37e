"""How well the verifier separates faithful LLM sentences from invented ones, on draft sentences
taken from real runs (bench/reader.py results) and labelled by hand.

    python bench/verifier.py export bench/results/reader_qwen_dev.json [...]
        → eval/verifier/draft_sentences.jsonl: one row per draft sentence with the question
          and the text of the passages it cites; the verifier's verdict is NOT in it, so the
          labels are given blind
    python bench/verifier.py score
        → reads eval/verifier/labels.jsonl ({"id", "label": "faithful" | "invented",
          "invented": "figure" | "name" | "date" | "entity" | "other" | ""}), runs the current
          verifier on every labelled sentence against the passages it cites, and reports the
          share of faithful sentences it drops and of invented ones it keeps
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, write_result

OUT = REPO / "eval" / "verifier"


def export(paths: list[Path]) -> int:
    rows, seen = [], set()
    for path in paths:
        data = json.loads(path.read_text())
        for key, questions in data["questions"].items():
            for q in questions:
                passages = q.get("retrieved") or []
                for i, check in enumerate(q.get("checks") or []):
                    cited = [n for n in check.get("cited", []) if 1 <= n <= len(passages)]
                    if not cited or (q["question"], check["text"]) in seen:
                        continue
                    seen.add((q["question"], check["text"]))
                    rows.append({"id": f"{key.split('/')[0]}-{q['id']}-{i + 1}-{len(rows) + 1}",
                                 "question": q["question"],
                                 "sentence": check["text"], "cited": cited,
                                 "passages": {str(n): passages[n - 1]["text"] for n in cited}})
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "draft_sentences.jsonl").open("w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} draft sentences → {OUT / 'draft_sentences.jsonl'}")
    return 0


def _verdicts(rows: list[dict]) -> dict[str, tuple[bool, str]]:
    """The current verifier on each sentence, against the passages it cites."""
    from core.settings import Settings
    from index.embedder import make_embedder
    from qa.evidence import EvidenceContext
    from qa.verify import verify_draft

    embedder = make_embedder(Settings())
    out = {}
    for row in rows:
        numbers = sorted(int(n) for n in row["passages"])
        slots = [row["passages"].get(str(n), "") for n in range(1, max(numbers) + 1)]
        ctx = EvidenceContext(row["question"], slots, lambda t: embedder.encode(list(t)), lambda _t: 1.0)
        marks = "".join(f"[{n}]" for n in row["cited"])
        verified = verify_draft(f"{row['sentence']} {marks}", ctx, bare_answers=True)
        check = verified.checks[0] if verified.checks else None
        out[row["id"]] = (bool(verified.sentences), check.reason if check else "no claim")
    return out


def score() -> int:
    # Labels are joined on their row (1-based line of draft_sentences.jsonl): one question's
    # sentence number may repeat across the runs exported together.
    lines = (OUT / "draft_sentences.jsonl").read_text().splitlines()
    rows = {i: json.loads(line) for i, line in enumerate(lines, 1)}
    labels = [json.loads(line) for line in (OUT / "labels.jsonl").read_text().splitlines() if line.strip()]
    for x in labels:
        x["id"] = f"{x['row']}:{x['id']}"
    verdicts = _verdicts([{**rows[int(x["id"].split(":")[0])], "id": x["id"]} for x in labels])
    faithful = [x for x in labels if x["label"] == "faithful"]
    invented = [x for x in labels if x["label"] == "invented"]
    dropped = [x for x in faithful if not verdicts[x["id"]][0]]
    kept = [x for x in invented if verdicts[x["id"]][0]]
    by_kind: dict[str, list[int]] = {}
    for x in invented:
        kind = x.get("invented") or "other"
        by_kind.setdefault(kind, [0, 0])
        by_kind[kind][0] += 1
        by_kind[kind][1] += verdicts[x["id"]][0]
    result = {
        "sentences": len(labels), "faithful": len(faithful), "invented": len(invented),
        "faithful_dropped": len(dropped),
        "faithful_dropped_share": round(len(dropped) / max(1, len(faithful)), 3),
        "invented_kept": len(kept), "invented_kept_share": round(len(kept) / max(1, len(invented)), 3),
        "invented_by_kind": {k: {"n": n, "kept": k_} for k, (n, k_) in sorted(by_kind.items())},
        "faithful_dropped_examples": [{"id": x["id"], "reason": verdicts[x["id"]][1]} for x in dropped],
        "invented_kept_ids": [x["id"] for x in kept],
    }
    print(json.dumps(result, indent=1))
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
