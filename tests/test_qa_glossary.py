"""Cable abbreviations are read as what they stand for when sentences are scored against a
question (real embedder), and never change what is quoted."""

from __future__ import annotations

from typing import Any

import pytest

from qa import evidence
from qa.evidence import EvidenceContext
from qa.glossary import spell_out

QUESTION = ("Which foreign ministry official did the political officer meet to urge an end to "
            "weapons sales to Tehran?")
CABLE = ("(S/NF) Beijing should stop all weapons-related transfers to Iran, PolOff urged in a "
         "discussion with MFA Deputy Director Li Wei on May 15.")
# A sentence from another document that shares more of the question's plain words.
DISTRACTOR = ("During their visit to Tehran, the Chinese envoys met senior Iranian officials, "
              "including the defence minister and the chief of staff of the armed forces.")


def test_spell_out_expands_cable_abbreviations_only() -> None:
    assert spell_out("PolOff met the MFA.") == (
        "PolOff (political officer) met the MFA (Ministry of Foreign Affairs).")
    assert spell_out("POLOFF and A/S Hill") == "POLOFF (political officer) and A/S (Assistant Secretary) Hill"
    # All-capital abbreviations only in capitals; markings and other words untouched.
    assert spell_out("the mod and fm radio; (S/NF) classified") == "the mod and fm radio; (S/NF) classified"


def _best(embedder: Any) -> str:
    ctx = EvidenceContext(QUESTION, [DISTRACTOR, CABLE], embedder.encode, lambda _t: 1.0)
    return ctx.ranked_sentences()[0][1].text


def test_the_abbreviated_sentence_that_answers_ranks_first(embedder: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    best = _best(embedder)
    assert best == CABLE  # quoted as written, not spelt out
    # Precondition: read literally, the distractor would have won.
    monkeypatch.setattr(evidence, "spell_out", lambda text: text)
    assert _best(embedder) == DISTRACTOR
