#!/usr/bin/env python3
"""Validate the Dossier gold question set (stdlib only).

Usage: python3 check_gold.py [CORPUS_DIR] [GOLD_FILE]
  CORPUS_DIR defaults to /work/shared/corpus
  GOLD_FILE  defaults to sample.jsonl next to this script

Hard errors (exit status 1):
  - a line that is not valid JSON, or has missing/extra/mistyped fields
  - duplicate or non-sequential ids
  - unknown kind
  - a source file that does not exist in CORPUS_DIR
  - an evidence string that is not an exact substring of any named source
  - an answerable question with no answer that occurs (case-insensitive)
    in one of its evidence strings or in its source text
  - an answerable question with no answers/sources/evidence, or a multi_doc
    question with fewer than two sources (or sources without evidence), or a
    multi_sentence question with fewer than two evidence strings
  - an unanswerable question with non-empty answers/sources/evidence
Warnings (do not fail):
  - evidence shorter than 5 or longer than 25 words, or containing a newline
  - an answer that matches only the source text, not any evidence string
"""
import json
import os
import sys
from collections import Counter

KINDS = {"fact", "number", "date", "paraphrase", "multi_sentence",
         "multi_doc", "unanswerable"}
FIELDS = ["id", "question", "answers", "sources", "evidence", "answerable",
          "kind"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/corpus"
    gold = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "sample.jsonl")

    errors, warnings = [], []
    texts = {}

    def doc(name):
        if name not in texts:
            path = os.path.join(corpus, name)
            if os.path.basename(name) != name or not os.path.isfile(path):
                texts[name] = None
            else:
                with open(path, encoding="utf-8") as fh:
                    texts[name] = fh.read()
        return texts[name]

    kinds, per_doc = Counter(), Counter()
    seen_ids = set()
    n = 0
    with open(gold, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                errors.append(f"line {lineno}: blank line")
                continue
            try:
                q = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"line {lineno}: invalid JSON: {e}")
                continue
            n += 1
            qid = q.get("id", f"line{lineno}")
            def err(msg: str, qid: str = qid) -> None:
                errors.append(f"{qid}: {msg}")

            def warn(msg: str, qid: str = qid) -> None:
                warnings.append(f"{qid}: {msg}")

            if list(q.keys()) != FIELDS:
                err(f"fields {list(q.keys())} != {FIELDS}")
            if qid in seen_ids:
                err("duplicate id")
            seen_ids.add(qid)
            if qid != f"q{n:03d}":
                err(f"expected id q{n:03d}")
            if not isinstance(q.get("question"), str) or not q["question"].strip():
                err("empty question")
            for f in ("answers", "sources", "evidence"):
                v = q.get(f)
                if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
                    err(f"{f} must be a list of non-empty strings")
                    q[f] = []
            if not isinstance(q.get("answerable"), bool):
                err("answerable must be a boolean")
            kind = q.get("kind")
            if kind not in KINDS:
                err(f"unknown kind {kind!r}")
            kinds[kind] += 1

            if not q.get("answerable"):
                if kind != "unanswerable":
                    err("answerable=false but kind is not 'unanswerable'")
                if q["answers"] or q["sources"] or q["evidence"]:
                    err("unanswerable question must have empty answers/sources/evidence")
                continue

            if kind == "unanswerable":
                err("kind 'unanswerable' but answerable=true")
            if not (q["answers"] and q["sources"] and q["evidence"]):
                err("answerable question needs answers, sources and evidence")
            if len(q["answers"]) > 3:
                warn("more than 3 answer variants")
            if len(set(q["sources"])) != len(q["sources"]):
                err("duplicate source")

            src_texts = []
            for s in q["sources"]:
                t = doc(s)
                if t is None:
                    err(f"source file not found: {s}")
                else:
                    src_texts.append((s, t))
                    per_doc[s] += 1

            used = set()
            for ev in q["evidence"]:
                hits = [s for s, t in src_texts if ev in t]
                if not hits:
                    err(f"evidence not found verbatim in sources: {ev!r}")
                used.update(hits)
                nw = len(ev.split())
                if nw < 5 or nw > 25:
                    warn(f"evidence has {nw} words: {ev!r}")
                if "\n" in ev:
                    warn(f"evidence spans a line break: {ev!r}")

            if kind == "multi_doc":
                if len(q["sources"]) < 2:
                    err("multi_doc needs at least two sources")
                unused = [s for s, _ in src_texts if s not in used]
                if unused:
                    err(f"multi_doc source(s) without evidence: {unused}")
            if kind == "multi_sentence" and len(q["evidence"]) < 2:
                err("multi_sentence needs at least two evidence strings")

            evl = [e.lower() for e in q["evidence"]]
            srcl = [t.lower() for _, t in src_texts]
            in_ev = [a for a in q["answers"] if any(a.lower() in e for e in evl)]
            in_src = [a for a in q["answers"] if any(a.lower() in t for t in srcl)]
            if not in_ev and not in_src:
                err(f"no answer occurs in evidence or source text: {q['answers']}")
            elif not in_ev:
                warn(f"answer occurs only in source text, not evidence: {q['answers']}")

    for w in warnings:
        print("WARNING", w)
    for e in errors:
        print("ERROR", e)

    print(f"\n{n} questions in {gold}")
    print("per kind:")
    for k in sorted(KINDS):
        print(f"  {k:15s} {kinds.get(k, 0)}")
    print(f"  {'number+date':15s} {kinds.get('number', 0) + kinds.get('date', 0)}")
    print("per source document (answerable questions citing it):")
    for name in sorted(per_doc):
        print(f"  {name:28s} {per_doc[name]}")
    print(f"\n{len(errors)} error(s), {len(warnings)} warning(s)")
    print("FAIL" if errors else "OK")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
