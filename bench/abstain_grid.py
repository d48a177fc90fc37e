"""Grid over the abstention policy's knobs on the gold set (extractive answers, no LLM).

Prints answer accuracy, false-abstain rate and abstain accuracy for each combination of the
relevance floor, the typed-answer ratio and the typed window, so the defaults in
`qa.candidates.AbstainPolicy` can be chosen by measurement. Needs an index of the sample corpus
(`dossier ingest data/corpus`) in DOSSIER_HOME.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from core.settings import Settings
from eval.gold import DEFAULT_GOLD, load_gold
from eval.metrics import contains_answer
from qa import Assistant
from qa.answer_type import expected_type, satisfies
from qa.assistant import _own_words


def main() -> None:
    assistant = Assistant(Settings(llm="extractive"))
    data = []
    for g in load_gold(DEFAULT_GOLD):
        passages = assistant.search(g.question)
        ctx = assistant._context(g.question, passages)
        kind = expected_type(_own_words(g.question))
        rows = [
            (score, satisfies(kind, s.text, g.question),
             g.answerable and contains_answer(s.text, g.answers))
            for score, s in ctx.ranked_sentences()[:10]
        ]
        data.append((g, rows))
    results = []
    for floor, ratio, window in itertools.product([0.25, 0.3, 0.35], [0.0, 0.5, 0.6, 0.7, 0.8],
                                                  [3, 5, 8]):
        correct = false_abstain = abstained = answerable = unanswerable = 0
        for g, rows in data:
            top = rows[0][0]
            cands = [r for r in rows[:window] if r[0] >= ratio * top and r[1]]
            abstain = top < floor or not cands
            if g.answerable:
                answerable += 1
                if abstain:
                    false_abstain += 1
                else:
                    chosen = [c for c in cands[:2] if c[0] >= 0.9 * cands[0][0]]
                    correct += any(c[2] for c in chosen)
            else:
                unanswerable += 1
                abstained += abstain
        row = {"floor": floor, "ratio": ratio, "window": window,
               "answer_accuracy": round(correct / answerable, 3),
               "false_abstain_rate": round(false_abstain / answerable, 3),
               "abstain_accuracy": round(abstained / unanswerable, 3)}
        results.append(row)
        print(" ".join(f"{k}={v}" for k, v in row.items()))
    out = Path(__file__).parent / "results" / "abstain_grid.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
