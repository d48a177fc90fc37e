"""The `dossier` command line (also `python -m qa`). Contract: docs/contracts.md.

Exit codes: 0 ok; 1 fatal error (or, for `eval`, a metric regressed); 2 usage; 3 some files
failed to ingest (the rest were indexed); 4 no index yet.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from core.errors import DossierError
from core.settings import Settings

BACKENDS_HELP = (
    "answer backends (DOSSIER_LLM): local (bundled SmolLM2 GGUF, default, offline), "
    "openai (any OpenAI-compatible endpoint: DOSSIER_OPENAI_BASE_URL, DOSSIER_OPENAI_API_KEY, "
    "DOSSIER_OPENAI_MODEL), ollama (DOSSIER_OLLAMA_URL, DOSSIER_OLLAMA_MODEL), extractive (no LLM)"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's default exit code is already 2
        self.print_usage(sys.stderr)
        print(f"dossier: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dossier",
        description="Question answering over your documents with checkable citations.",
        epilog=BACKENDS_HELP + ". State lives in DOSSIER_HOME (default ./.dossier).",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("ingest", help="index files and folders (incremental)")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-progress", action="store_true")

    p = sub.add_parser("search", help="retrieval only: the ranked passages")
    p.add_argument("question")
    p.add_argument("--k", type=int, default=None)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("ask", help="answer with citations")
    p.add_argument("question")
    p.add_argument("--k", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--llm", default=None, help="override DOSSIER_LLM for this call")

    p = sub.add_parser("ui", help="the chat UI")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--share-on-network", action="store_true",
                   help="required to bind anything but a loopback address")

    p = sub.add_parser("eval", help="score gold questions against the index and backend")
    p.add_argument("--gold", type=Path, default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--baseline", type=Path, default=None)
    p.add_argument("--k", type=int, default=None)
    p.add_argument("--retrieval-only", action="store_true", help="score retrieval alone, no LLM")
    p.add_argument("--llm", default=None)
    p.add_argument("--save-baseline", type=Path, default=None)
    p.add_argument("--gate-latency", action="store_true",
                   help="also gate latency, as a multiple of a calibration timed in the same run")
    p.add_argument("--no-verify", action="store_true",
                   help="score the raw LLM draft, without citation verification (for comparison)")
    p.add_argument("draft", nargs="*", help="`dossier eval draft PATH`: propose gold questions")
    return parser


def _cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from index.ingest import ingest, tqdm_progress

    report = ingest(
        args.paths, settings, progress=tqdm_progress(not args.no_progress and not args.json)
    )
    for failure in report.failed:
        print(f"dossier: failed: {failure['path']}: {failure['error']}", file=sys.stderr)
    for warning in report.warnings:
        print(f"dossier: warning: {warning['path']}: {warning['warning']}", file=sys.stderr)
    for held in report.quarantined:
        print(f"dossier: quarantined (indexed, kept out of answers: it holds instructions to the "
              f"assistant): {held['path']}: {held['reason']}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(
            f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.removed} removed, {len(report.failed)} failed"
            + (f", {len(report.quarantined)} quarantined" if report.quarantined else "")
            + "; "
            f"{report.chunks} chunks in the index ({report.seconds:.1f}s)"
        )
    return 3 if report.failed else 0


def _cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from qa import Assistant

    assistant = Assistant(settings)
    passages = assistant.search(args.question, k=args.k)
    if args.json:
        print(json.dumps({"question": args.question,
                          "passages": [p.contract() for p in passages]}, ensure_ascii=False))
    else:
        for rank, p in enumerate(passages, 1):
            print(f"[{rank}] {p.source} {p.start}-{p.end} (score {p.score:.3f})")
            print("    " + " ".join(p.text.split())[:400])
    return 0


def _cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from qa import Assistant

    if args.llm:
        settings = settings.model_copy(update={"llm": args.llm})
    assistant = Assistant(settings)
    if args.json:
        answer = assistant.ask(args.question, k=args.k)
        print(json.dumps(answer.contract(), ensure_ascii=False))
        return 0
    answer = None
    for event in assistant.ask_stream(args.question, k=args.k):
        if event.kind == "quote" and event.answer is not None and sys.stderr.isatty():
            # On a terminal the quote shows at once, on stderr so that stdout stays the answer.
            print("Quote (the model is reading the passages):\n" + event.answer.answer + "\n",
                  file=sys.stderr, flush=True)
        elif event.kind == "answer":
            answer = event.answer
    assert answer is not None
    print(answer.render_text())
    return 0


def _cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    from ui.app import launch

    launch(settings, host=args.host, port=args.port, allow_network=args.share_on_network)
    return 0


def _cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from eval.cli import run_eval_command

    if args.llm:
        settings = settings.model_copy(update={"llm": args.llm})
    return run_eval_command(args, settings)


COMMANDS = {
    "ingest": _cmd_ingest,
    "search": _cmd_search,
    "ask": _cmd_ask,
    "ui": _cmd_ui,
    "eval": _cmd_eval,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "k", None) is not None and not 1 <= args.k <= 50:
        print("dossier: error: --k must be between 1 and 50", file=sys.stderr)
        return 2
    try:
        settings = Settings()
        return COMMANDS[args.command](args, settings)
    except DossierError as exc:
        print(f"dossier: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dossier: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
