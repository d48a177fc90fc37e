"""Gold question files (JSON Lines, docs/contracts.md)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

from core.errors import UsageError

DEFAULT_GOLD = Path(__file__).parent / "gold" / "sample.jsonl"


class KeyPoint(BaseModel):
    """One point an open question's full answer must make (docs/contracts.md, open questions)."""

    answers: list[str]
    evidence: str = ""
    source: str = ""


class GoldQuestion(BaseModel):
    id: str
    question: str
    answers: list[str] = []
    sources: list[str] = []
    evidence: list[str] = []
    answerable: bool = True
    kind: str = ""
    key_points: list[KeyPoint] = []

    @property
    def open(self) -> bool:
        """An open question (summary, list, comparison…) is scored by its key points."""
        return bool(self.key_points)

    @property
    def all_evidence(self) -> list[str]:
        return [*self.evidence, *(p.evidence for p in self.key_points if p.evidence)]


def load_gold(path: Path) -> list[GoldQuestion]:
    if not path.exists():
        raise UsageError(f"gold file not found: {path}")
    out: list[GoldQuestion] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(GoldQuestion.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as exc:
            raise UsageError(f"{path}:{n}: not a valid gold question ({exc.__class__.__name__})") from exc
    if not out:
        raise UsageError(f"{path} holds no questions")
    return out
