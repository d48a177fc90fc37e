"""`dossier eval draft PATH`: candidate gold questions from a user's documents, for review.

With a real LLM configured (DOSSIER_LLM other than `extractive`) the model drafts natural
questions — factoids, open questions with key points, and near misses — and every one is checked
against the document's text before it is kept (eval/draft_llm.py).

With `extractive`, or when the configured model cannot be loaded, a transparent heuristic drafts
them instead: sentences that state a checkable fact — a number, a date or a name — become
cloze-style candidates whose answer and evidence are exact text from the document.

Each row says how it was made (`draft`) so the reviewer knows what to check or rephrase.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import BackendError, DossierError, LoadError
from core.settings import Settings
from index.cleaning import content_spans
from index.loaders import load_bytes, supported
from index.sentences import sentence_spans
from qa.llm import LLM, LLMS, make_llm

from .draft_llm import Doc, Tally, draft_document

_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_NAME = re.compile(r"(?<!^)(?<![.!?] )\b([A-Z][a-z]+(?: [A-Z][a-z]+)+)\b")
PER_DOCUMENT = 5
CLOZE = "heuristic cloze"


@dataclass
class DraftReport:
    """How the questions were drafted, for the CLI's summary on stderr."""

    method: str = CLOZE
    note: str = ""  # why the LLM was not used, when one was configured
    tally: Tally = field(default_factory=Tally)
    written: int = 0


def summary(report: DraftReport) -> list[str]:
    """Lines for stderr: how the rows were made, how many were kept and why others were not."""
    lines = [f"{report.note}; drafting {CLOZE} questions instead"] if report.note else []
    tally = report.tally
    if report.method == CLOZE:
        return [*lines, f"{report.written} {CLOZE} questions: rewrite each as a natural question "
                        "before use (set DOSSIER_LLM to a model for natural questions)"]
    proposed = sum(tally.kept.values()) + sum(tally.rejected.values())
    lines.append(f"{report.method}: kept {report.written} of {proposed} proposed questions "
                 f"({_counts(tally.kept) or 'none'}) in {tally.calls} model calls")
    if tally.rejected:
        lines.append(f"rejected: {_counts(tally.rejected)}")
    if tally.dropped_points:
        lines.append(f"key points dropped: {_counts(tally.dropped_points)}")
    if tally.kept["near miss"]:
        lines.append("near misses are checked by words only: confirm each is not answered")
    return lines


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counter.most_common() if n)


def _files(paths: Sequence[Path]) -> Iterator[tuple[Path, Path]]:
    for path in paths:
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and supported(f):
                    yield f, path
        elif path.is_file():
            yield path, path.parent


def _documents(paths: Sequence[Path]) -> Iterator[tuple[str, str, list[tuple[int, int]]]]:
    """(text, source, sentence spans inside the content) per readable file."""
    for file, root in _files(paths):
        try:
            text = load_bytes(file, file.read_bytes()).text
        except (LoadError, OSError):
            continue
        source = str(file.relative_to(root)) if file != root else file.name
        spans = [s for start, end in content_spans(text) for s in sentence_spans(text, start, end)]
        yield text, source, spans


def _candidate(sentence: str) -> tuple[str, str, str] | None:
    for kind, pattern in (("date", _YEAR), ("number", _NUMBER), ("name", _NAME)):
        match = pattern.search(sentence)
        if match:
            answer = match.group(0).rstrip(".,")
            cloze = sentence[: match.start()] + "____" + sentence[match.start() + len(answer):]
            return kind, answer, cloze
    return None


def _cloze_rows(paths: Sequence[Path]) -> Iterator[dict[str, Any]]:
    for text, source, spans in _documents(paths):
        made = 0
        for a, b in spans:
            sentence = text[a:b]
            if not 8 <= len(sentence.split()) <= 45 or made >= PER_DOCUMENT:
                continue
            found = _candidate(sentence)
            if found is None:
                continue
            kind, answer, cloze = found
            made += 1
            yield {
                "question": f"Fill the blank: {cloze}",
                "answers": [answer],
                "sources": [source],
                "evidence": [sentence],
                "answerable": True,
                "kind": kind,
                "draft": "heuristic cloze: rewrite as a natural question before use",
            }


def _llm_rows(paths: Sequence[Path], llm: LLM, report: DraftReport) -> Iterator[dict[str, Any]]:
    try:
        for text, source, spans in _documents(paths):
            yield from draft_document(llm, Doc(text, source), spans, report.tally)
    except BackendError as exc:
        # A server that is down shows only at the first call; after that, an error is an error.
        if report.tally.calls:
            raise
        report.method, report.note = CLOZE, f"the {llm.name} LLM did not answer ({exc})"
        yield from _cloze_rows(paths)


def configured_llm(settings: Settings, report: DraftReport) -> LLM | None:
    """The configured model, or None (`extractive`, or it cannot be loaded: `report.note` says)."""
    if settings.llm not in LLMS:
        return make_llm(settings)  # raises: a misspelt backend is a mistake to fix, not to work around
    try:
        return make_llm(settings)
    except DossierError as exc:
        report.note = f"the {settings.llm} LLM could not be loaded ({exc})"
        return None


def draft_questions(paths: Sequence[Path], settings: Settings, report: DraftReport | None = None,
                    llm: LLM | None = None) -> Iterator[dict[str, Any]]:
    """Gold rows with ids d001…; `llm` overrides the configured backend (tests)."""
    report = report if report is not None else DraftReport()
    llm = llm if llm is not None else configured_llm(settings, report)
    if llm is not None:
        report.method = f"llm {llm.name}"
    rows = _llm_rows(paths, llm, report) if llm is not None else _cloze_rows(paths)
    for n, row in enumerate(rows, 1):
        report.written = n
        yield {"id": f"d{n:03d}", **row}
