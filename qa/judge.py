"""The LLM as a yes/no judge: does this answer, read against these passages, answer the question?

The lexical verifier says whether a sentence is *supported* by its passage; it cannot say whether
a true, on-topic sentence *answers* the question — the usual failure on near misses ("How many…?"
answered with a sentence about the same event that gives no count). The judge asks the model and
compares the next-token logits of "yes" and "no". Its prompt opens exactly like the reader's
(same system message, same passages, same question), so llama.cpp reuses the passages already
read and a judgement costs only the claim's tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from index.models import Passage

from .llm import LLM, Message
from .prompting import READER_SYSTEM, build_messages


@runtime_checkable
class CanJudge(Protocol):
    def yes_probability(self, messages: list[Message]) -> float: ...


def can_judge(llm: LLM | None) -> bool:
    """A backend judges when it exposes its logits and is not marked too weak to (`judges`)."""
    return isinstance(llm, CanJudge) and bool(getattr(llm, "judges", True))


JUDGE_ASK = (
    "Proposed answer: {answer}\n"
    "Do the passages show that the proposed answer is correct, and does it give what the question "
    "asks for? Reply with one word: yes or no."
)


class Judge:
    def __init__(self, llm: CanJudge, system: str = READER_SYSTEM) -> None:
        self.llm = llm
        self.system = system

    def messages(self, question: str, passages: Sequence[Passage], answer: str) -> list[Message]:
        messages = build_messages(question, passages, self.system)
        user = messages[-1]["content"]
        # Cut the reader's closing instruction, keep everything before it byte for byte (the
        # shared prefix is what makes the judgement cheap).
        head = user[: user.rindex("\n", 0, len(user) - 1) + 1] if "\n" in user else user
        return [*messages[:-1], {"role": "user",
                                 "content": head + JUDGE_ASK.format(answer=" ".join(answer.split()))}]

    def run(self, question: str, passages: Sequence[Passage], answer: str) -> float:
        """P(yes) that `answer` answers `question` from `passages` (the reader's prompt passages)."""
        return self.llm.yes_probability(self.messages(question, passages, answer))
