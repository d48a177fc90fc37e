"""Test doubles for the answering layer.

`ScriptedLLM` stands in for an LLM backend wherever the LLM itself is not under test: it streams a
scripted reply (fixed, or computed from the prompt) and records every prompt it received.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

Message = dict[str, str]
Reply = str | Callable[[list[Message]], str]

_PIECE = re.compile(r"\S+\s*|\s+")
_BLOCK = re.compile(r'<passage n="(\d+)">\n(.*?)\n</passage>', re.S)


class ScriptedLLM:
    """Same interface as `qa.llm.LLM`: `name` and `stream(messages, max_tokens=...)`."""

    def __init__(self, reply: Reply, name: str = "scripted") -> None:
        self.name = name
        self._reply = reply
        self.prompts: list[list[Message]] = []
        self.max_tokens: list[int] = []

    def stream(self, messages: list[Message], *, max_tokens: int) -> Iterator[str]:
        yield from self._play(messages, max_tokens, self._reply)

    def _play(self, messages: list[Message], max_tokens: int, reply: Reply) -> Iterator[str]:
        recorded = [dict(m) for m in messages]
        self.prompts.append(recorded)
        self.max_tokens.append(max_tokens)
        text = _text(reply, recorded)
        # Word by word, as a real backend streams: several pieces, concatenating to the reply.
        yield from _PIECE.findall(text)

    @property
    def last_system(self) -> str:
        return _content(self.prompts[-1], "system")

    @property
    def last_user(self) -> str:
        return _content(self.prompts[-1], "user")


def _text(reply: Reply, messages: list[Message]) -> str:
    return reply(messages) if callable(reply) else reply


def _content(messages: list[Message], role: str) -> str:
    return "\n".join(m["content"] for m in messages if m["role"] == role)


def passage_blocks(messages: list[Message]) -> dict[int, str]:
    """The numbered passages of a prompt, as {n: text}."""
    user = _content(messages, "user")
    return {int(n): text for n, text in _BLOCK.findall(user)}


def squash(text: str) -> str:
    """Whitespace-normalised text (the prompt collapses runs of whitespace in passages)."""
    return " ".join(text.split())


_PROPOSED = re.compile(r"Proposed answer: (.*)\n", re.S)


class ScriptedJudgingLLM(ScriptedLLM):
    """A ScriptedLLM that also judges: `judge(answer)` gives P(yes) for the proposed answer the
    judge prompt carries. Records every judged answer."""

    def __init__(self, reply: Reply, judge: Callable[[str], float], name: str = "scripted") -> None:
        super().__init__(reply, name)
        self._judge = judge
        self.judged: list[str] = []
        self.judge_prompts: list[list[Message]] = []

    def yes_probability(self, messages: list[Message]) -> float:
        self.judge_prompts.append([dict(m) for m in messages])
        found = _PROPOSED.search(_content(messages, "user"))
        answer = found.group(1).split("\n")[0] if found else ""
        self.judged.append(answer)
        return self._judge(answer)


class ScriptedCommittingLLM(ScriptedJudgingLLM):
    """A judging double that can also be made to answer without declining (`stream_banning`, as
    llama.cpp does with a logit bias): `committed` is its reply then. Records the banned words."""

    def __init__(self, reply: Reply, committed: Reply, judge: Callable[[str], float],
                 name: str = "scripted", decline_weight: float | None = None) -> None:
        super().__init__(reply, judge, name)
        self._committed = committed
        self._decline_weight = decline_weight
        self.banned: list[list[str]] = []
        self.weighed: list[list[str]] = []
        self.weighed_prompts: list[list[Message]] = []

    def first_token_share(self, messages: list[Message], words: Sequence[str]) -> float:
        """The scripted decline weight; unset, 1.0 when the reply starts with one of `words`."""
        self.weighed.append(list(words))
        self.weighed_prompts.append([dict(m) for m in messages])
        if self._decline_weight is not None:
            return self._decline_weight
        text = _text(self._reply, [dict(m) for m in messages])
        return 1.0 if text.strip().upper().startswith(tuple(w.upper() for w in words)) else 0.0

    def stream_banning(self, messages: list[Message], *, max_tokens: int,
                       banned: Sequence[str]) -> Iterator[str]:
        self.banned.append(list(banned))
        yield from self._play(messages, max_tokens, self._committed)
