"""`dossier eval draft PATH`: candidate gold questions from a user's documents, for review.

A transparent heuristic (no LLM): sentences that state a checkable fact — a number, a date or a
name — become cloze-style candidates whose answer and evidence are exact text from the document.
Each candidate says how it was made so the reviewer knows to rephrase the question naturally.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from core.errors import LoadError
from core.settings import Settings
from index.cleaning import content_spans
from index.loaders import load_bytes, supported
from index.sentences import sentence_spans

_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_NAME = re.compile(r"(?<!^)(?<![.!?] )\b([A-Z][a-z]+(?: [A-Z][a-z]+)+)\b")
PER_DOCUMENT = 5


def _files(paths: Sequence[Path]) -> Iterator[tuple[Path, Path]]:
    for path in paths:
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and supported(f):
                    yield f, path
        elif path.is_file():
            yield path, path.parent


def _candidate(sentence: str) -> tuple[str, str, str] | None:
    for kind, pattern in (("date", _YEAR), ("number", _NUMBER), ("name", _NAME)):
        match = pattern.search(sentence)
        if match:
            answer = match.group(0).rstrip(".,")
            cloze = sentence[: match.start()] + "____" + sentence[match.start() + len(answer):]
            return kind, answer, cloze
    return None


def draft_questions(paths: Sequence[Path], settings: Settings) -> Iterator[dict[str, Any]]:
    n = 0
    for file, root in _files(paths):
        try:
            text = load_bytes(file, file.read_bytes()).text
        except (LoadError, OSError):
            continue
        made = 0
        for start, end in content_spans(text):
            for a, b in sentence_spans(text, start, end):
                sentence = text[a:b]
                if not 8 <= len(sentence.split()) <= 45 or made >= PER_DOCUMENT:
                    continue
                found = _candidate(sentence)
                if found is None:
                    continue
                kind, answer, cloze = found
                n += 1
                made += 1
                yield {
                    "id": f"d{n:03d}",
                    "question": f"Fill the blank: {cloze}",
                    "answers": [answer],
                    "sources": [str(file.relative_to(root)) if file != root else file.name],
                    "evidence": [sentence],
                    "answerable": True,
                    "kind": kind,
                    "draft": "heuristic cloze: rewrite as a natural question before use",
                }
