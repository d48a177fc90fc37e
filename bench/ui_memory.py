"""Memory of `dossier ui` with an LLM backend loaded: the real server process on loopback, the
sample corpus indexed, questions asked through the UI's own API (gradio_client), then the
server's resident memory (its whole process tree) read from /proc.

    python bench/ui_memory.py [--backend qwen] [--questions 3]

Target (issue 16): RSS ≤ 3 GB with the Qwen backend loaded.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import SAMPLE_CORPUS, free_port, machine, offline_env, peak_rss_mb, tree_rss_mb, write_result

TARGET_MB = 3072
QUESTIONS = ["How many boxes of computers was Siemens forced to recall?",
             "What is the QW-1?",
             "What price did Iran pay for the potassium perchlorate shipment?"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--backend", default="qwen")
    ap.add_argument("--questions", type=int, default=3)
    args = ap.parse_args()
    offline_env()
    home = Path(tempfile.mkdtemp(prefix="dossier-bench-ui-"))
    env = {**os.environ, "DOSSIER_HOME": str(home), "DOSSIER_LLM": args.backend,
           "GRADIO_ANALYTICS_ENABLED": "False", "OMP_WAIT_POLICY": "PASSIVE"}
    dossier = str(Path(sys.executable).parent / "dossier")
    subprocess.run([dossier, "ingest", str(SAMPLE_CORPUS)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = free_port()
    proc = subprocess.Popen([dossier, "ui", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        from gradio_client import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the UI did not start") from None
                time.sleep(1)
        idle_mb = tree_rss_mb(proc.pid)
        peak = idle_mb
        seconds = []
        for q in QUESTIONS[: args.questions]:
            t0 = time.perf_counter()
            job = client.submit(q, 5, args.backend, 0.5, api_name="/ask")
            while not job.done():
                peak = max(peak, tree_rss_mb(proc.pid))
                time.sleep(0.2)
            job.result()
            seconds.append(round(time.perf_counter() - t0, 1))
            peak = max(peak, tree_rss_mb(proc.pid))
        loaded_mb = tree_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    row = {"backend": args.backend, "idle_mb": round(idle_mb), "after_questions_mb": round(loaded_mb),
           "peak_mb": round(peak), "target_mb": TARGET_MB, "meets_target": peak <= TARGET_MB,
           "seconds": seconds, "bench_process_peak_mb": round(peak_rss_mb())}
    print(row)
    write_result(f"ui_memory_{args.backend}", {"benchmark": "ui_memory", "machine": machine(), **row})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
