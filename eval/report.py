"""Run records (JSON), a Markdown report and a chart of metrics across runs, under
DOSSIER_HOME/eval/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .baseline import Regression

CHART_METRICS = ("evidence_hit@1", "evidence_hit@5", "answer_accuracy", "citation_precision",
                 "sentence_support", "abstain_accuracy", "false_abstain_rate")


def save_run(run: dict[str, Any], folder: Path) -> Path:
    runs = folder / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    stamp = run["created"].replace(":", "").replace("-", "")
    path = runs / f"{stamp}-{run['backend']}.json"
    n = 1
    while path.exists():
        n += 1
        path = runs / f"{stamp}-{run['backend']}-{n}.json"
    path.write_text(json.dumps(run, ensure_ascii=False, indent=1))
    return path


def history(folder: Path, backend: str) -> list[dict[str, Any]]:
    out = []
    for path in sorted((folder / "runs").glob("*.json")):
        try:
            run = json.loads(path.read_text())
        except ValueError:
            continue
        if run.get("backend") == backend:
            out.append(run)
    return out


def chart(runs: list[dict[str, Any]], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(8, 4), dpi=110)
    xs = list(range(1, len(runs) + 1))
    for name in CHART_METRICS:
        ys = [r["metrics"].get(name) for r in runs]
        if any(y is not None for y in ys):
            ax.plot(xs, [y if y is not None else float("nan") for y in ys], marker="o", label=name)
    ax.set_xlabel("run")
    ax.set_ylabel("score")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xticks(xs)
    ax.set_title(f"Dossier eval — {runs[-1]['backend']} ({runs[-1]['n']} questions)")
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def markdown(run: dict[str, Any], regressions: list[Regression] | None, flipped: list[str],
             chart_name: str | None) -> str:
    lines = [f"# Dossier eval — {run['backend']}", "",
             f"{run['n']} questions, {run['created']}; config: `{json.dumps(run.get('config', {}))}`",
             "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in run["metrics"].items()]
    if regressions is not None:
        lines += ["", "## Against the baseline", ""]
        if regressions:
            lines += [f"- **{r.metric}** regressed: {r.baseline} → {r.current} (tolerance {r.tolerance})"
                      for r in regressions]
        else:
            lines.append("No metric regressed beyond its tolerance.")
    if flipped:
        lines += ["", "## Questions that flipped", ""] + [f"- {f}" for f in flipped]
    failures = [o for o in run.get("outcomes", []) if o.get("correct") is False]
    if failures:
        by_id = {q["id"]: q for q in run["per_question"]}
        lines += ["", "## Wrong answers and abstentions", ""]
        for o in failures:
            q = by_id[o["id"]]
            answer = (q.get("result") or {}).get("answer", "")
            lines.append(f"- `{o['id']}` {q['question']} → {' '.join(answer.split())[:200]}")
    if chart_name:
        lines += ["", f"![metrics across runs]({chart_name})"]
    return "\n".join(lines) + "\n"


def write_report(run: dict[str, Any], folder: Path, regressions: list[Regression] | None,
                 flipped: list[str]) -> tuple[Path, Path]:
    record = save_run(run, folder)
    png = chart(history(folder, run["backend"]), record.with_suffix(".png"))
    md = record.with_suffix(".md")
    md.write_text(markdown(run, regressions, flipped, png.name if png else None))
    return record, md
