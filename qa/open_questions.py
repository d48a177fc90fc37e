"""Open questions: ones whose answer gathers several points rather than one fact.

"Summarize…", "Which companies are named…", "Compare what A and B say…", "Why…", "What is the
QW-1?". They are recognised by the question's shape alone, before retrieval, so that retrieval can
gather (more passages, several documents) and the readers can answer with several cited points.
A question of none of these shapes is a factoid and keeps the factoid path unchanged.
"""

from __future__ import annotations

import enum
import re


class OpenKind(enum.StrEnum):
    DEFINITION = "definition"
    SUMMARY = "summary"
    LIST = "list"
    COMPARE = "compare"
    WHY = "why"


_COMPARE = re.compile(
    r"^(compare|contrast)\b|\b(how|in what ways?) (do|does|did) .+ (differ|compare)\b|"
    r"\bdifferences? between\b|\bwhat do .+ and .+ (each |both )?(say|report|state|tell)\b", re.I)
_SUMMARY = re.compile(
    r"^(summari[sz]e|give (me |us )?(an? )?(overview|summary|rundown)|outline|describe|"
    r"tell me about|what (is|was) (said|known|reported)|"
    r"what (did|does|do) .+ (say|report|tell|write|reveal|note|describe)( us)? (about|on|regarding)\b)|"
    r"\bwhat (happened|is happening)\b|"
    r"^what (did|does|has|have) (?!.*\b(say|tell|report)\b.*\b(should|would|will|was|were|is|are) "
    r"(\w+ )?(do|be|cost|take)\b).+\b(tell|propose|ask|offer|suggest|demand|do|request|"
    r"recommend|promise|agree|decide|argue|warn|explain)( \w+)?\b(?!.*\b(how many|how much)\b)|"
    r"^what (are|were) the (main |key |major |principal )?(points|findings|concerns|issues|"
    r"arguments|steps|measures|terms|conditions|reasons|details|elements|proposals)\b", re.I)
# "Which companies are named…", "What countries…", "List the…", "Name the…": a plural noun asked
# for, or a verb that asks for all of them.
_LIST = re.compile(
    r"^(list|name|enumerate|identify) (all |every |each |the |some )|"
    r"\b(which|what) ([\w-]+ ){0,4}(\w+(?<!s)s|people|men|women|children)\b "
    r"(are|were|have|had|did|do|that|which|who)\b|"
    r"\b(all|every) (the )?\w+ (that|which|who) (are|were)\b", re.I)
_WHY = re.compile(
    r"^(why|for what reasons?|what (were|are|was|is) the (main )?reasons?)\b|"
    r"^how (did|does|do|was|were|has|have|could|can|is|are) (?!.*\b(many|much)\b)", re.I)
# "What is the QW-1?", "Who is Robert Wood?": the subject alone, nothing more asked of it.
_DEFINITION = re.compile(
    r"^(what|who) (is|are|was|were) (an? |the )?(?P<subject>[^,;?]{2,60}?)"
    r"(\??\s*$|,? and (what|how|why|who|when|where)\b|, (as|according to)\b)", re.I)
# Words that make "What is the …?" a factoid asking for one value, not a definition.
_FACTOID_HEADS = re.compile(
    r"^(\w+ ){0,2}(name|date|number|amount|price|cost|value|total|size|capital|population|"
    r"rate|level|share|figure|age|title|address|year|time|day|month|deadline|status|source|"
    r"result|outcome|purpose|reason|cause|role|position|job|goal|aim|target|percentage|"
    r"budget|limit|maximum|minimum|volume|output|revenue|profit|loss|debt|deficit|surplus)\b", re.I)


# Shapes that ask for one thing however they open: "How did X describe Y?" wants the words X
# used, "What kind of goods…?" one kind.
_ONE_THING = re.compile(
    r"\bhow (many|much|long|old|far|often|large|big)\b|\b(what|which) (kind|type|sort|form)s? of\b|"
    r"^how (did|does|do|has|have|was|were|is|are|would|could|will) .+\b(describ|characteri[sz]|call|"
    r"rate|term|portray|sum|refer|label|dub|react|respond|repl|view|regard|assess|judge)\w*\b", re.I)


def open_kind(question: str) -> OpenKind | None:
    """The open kind of `question`, or None for a factoid."""
    q = " ".join(question.split()).strip()
    if not q or _ONE_THING.search(q):
        return None
    if _COMPARE.search(q):
        return OpenKind.COMPARE
    if _SUMMARY.search(q):
        return OpenKind.SUMMARY
    if _WHY.search(q):
        return OpenKind.WHY
    if _LIST.search(q):
        return OpenKind.LIST
    match = _DEFINITION.match(q)
    if match and len(match.group("subject").split()) <= 7 and not _FACTOID_HEADS.match(
            match.group("subject")) and not re.search(
            r"\b(of|in|for|by|from|at|on|to|with|that|who|which|when|where)\b", match.group("subject"), re.I):
        return OpenKind.DEFINITION
    return None


def definition_subject(question: str) -> str:
    """What a definition question asks about ("What is the QW-1?" → "QW-1"), or ""."""
    match = _DEFINITION.match(" ".join(question.split()).strip())
    return match.group("subject").strip() if match else ""


_PLURAL_HEAD = re.compile(r"^(?P<lead>.*?\b(which|what) (\w+ ){0,2}?)(?P<noun>\w+?)(?P<end>ies|s)\b"
                          r"(?P<verb> (are|were|have|had))?\b", re.I)


def singular_question(question: str) -> str:
    """A list question put as the factoid it generalises ("Which companies are named…" →
    "Which company is named…"), so that the answer kind of one item can be recognised."""
    match = _PLURAL_HEAD.search(question)
    if not match:
        return question
    noun = match.group("noun") + ("y" if match.group("end").lower() == "ies" else "")
    verb = {"are": " is", "were": " was", "have": " has", "had": " had"}.get(
        (match.group("verb") or "").strip().lower(), "")
    return question[: match.start()] + match.group("lead") + noun + verb + question[match.end():]
