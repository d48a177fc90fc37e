"""llama.cpp settings for the Qwen2.5-1.5B backend on this machine: threads, prompt batch size,
and what the reuse of a read prompt (the KV cache prefix) saves the judge.

One realistic reader prompt (a gold question's top passages, ~500 tokens) is read and answered
with each configuration in turn, interleaved over rounds so that load on the shared machine hits
every configuration alike; figures are medians and ratios within this one run.

    python bench/llm_settings.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import SAMPLE_CORPUS, machine, offline_env, print_table, write_result

QUESTION = "Where were the QW-1 missiles shown in the photographs seized?"
CLAIM = "The QW-1 missiles were seized in Basra, Iraq."


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    offline_env()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from core.settings import Settings
    from index.ingest import ingest
    from qa import Assistant
    from qa.gguf import qwen_model
    from qa.judge import Judge
    from qa.llm import LlamaCppLLM
    from qa.prompting import READER_SYSTEM
    from qa.readers import LLMReader

    home = Path(tempfile.mkdtemp(prefix="dossier-bench-llm-")) / "home"
    settings = Settings(home=home, llm="extractive")
    ingest([SAMPLE_CORPUS], settings)
    assistant = Assistant(settings, use_llm=False)
    passages = assistant.search(QUESTION)
    rules = assistant._rule_reader().run(QUESTION, QUESTION, passages)
    model = str(qwen_model(settings.model_cache))

    configs = [(2, 512), (2, 128), (2, 32), (1, 512)]
    llms = {c: LlamaCppLLM(model, name="qwen", n_threads=c[0], n_batch=c[1]) for c in configs}
    rows: dict[tuple[int, int], dict[str, list[float]]] = {c: {} for c in configs}
    for _ in range(args.rounds):
        for c, llm in llms.items():
            reader = LLMReader(llm, passages=4, sentences=3, max_tokens=64, system=READER_SYSTEM)
            messages = reader.messages(QUESTION, rules)
            llm._llm.reset()
            t0 = time.perf_counter()
            first = None
            for _piece in llm.stream(messages, max_tokens=64):
                first = first or time.perf_counter()
            t1 = time.perf_counter()
            judge = Judge(llm)
            given = reader.prompt_passages(rules)
            j0 = time.perf_counter()
            judge.run(QUESTION, given, CLAIM)  # the passages were just read: prefix reused
            j1 = time.perf_counter()
            llm._llm.reset()
            judge.run(QUESTION, given, CLAIM)  # cold: the whole prompt read again
            j2 = time.perf_counter()
            tokens = len(llm.prompt_tokens(messages))
            r = rows[c]
            for key, value in (("prompt_tokens", tokens), ("first_token_s", (first or t1) - t0),
                               ("answer_s", t1 - t0), ("judge_warm_s", j1 - j0),
                               ("judge_cold_s", j2 - j1)):
                r.setdefault(key, []).append(value)
    table = []
    base = statistics.median(rows[configs[0]]["first_token_s"])
    for c in configs:
        med = {k: statistics.median(v) for k, v in rows[c].items()}
        table.append({"threads": c[0], "batch": c[1], "prompt_tokens": int(med["prompt_tokens"]),
                      "prompt_tok_per_s": round(med["prompt_tokens"] / med["first_token_s"], 1),
                      "first_token_s": round(med["first_token_s"], 2),
                      "vs_default": round(med["first_token_s"] / base, 2),
                      "answer_s": round(med["answer_s"], 2), "judge_warm_s": round(med["judge_warm_s"], 2),
                      "judge_cold_s": round(med["judge_cold_s"], 2)})
    cols = list(table[0])
    print_table(cols, [[r[k] for k in cols] for r in table], "Qwen2.5-1.5B Q4_K_M, llama.cpp (medians)")
    path = write_result("llm_settings", {"benchmark": "llm_settings", "machine": machine(),
                                         "rounds": args.rounds, "rows": table})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
