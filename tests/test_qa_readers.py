"""The LLM reader, the judge and the composer on the real sample index (real embedder, Chroma,
BM25); the LLM is a scripted double that answers and judges, since the model is not under test
here (tests/test_qa_qwen.py runs the real one)."""

from __future__ import annotations

from fakes import ScriptedJudgingLLM, ScriptedLLM

SIEMENS_PARAPHRASE = ("Which European computer company had to take back hardware it sold to a firm "
                      "tied to Tehran's atomic program?")
SIEMENS_SENTENCE = ("Later the same year the German computer firm Siemens was forced to recall 111 "
                    "boxes of computers that it had sold to a Chinese company linked to Iran's "
                    "nuclear programme.")


def _cite(messages, needle: str) -> int:
    """The [n] of the prompt passage that holds `needle`."""
    from fakes import passage_blocks, squash

    for n, text in passage_blocks(messages).items():
        if needle.lower() in squash(text).lower():
            return n
    raise AssertionError(f"{needle!r} is in no prompt passage")


def test_a_paraphrase_the_rules_miss_is_answered_by_the_llm(make_assistant) -> None:
    rules_only = make_assistant().ask(SIEMENS_PARAPHRASE)
    llm = ScriptedJudgingLLM(
        lambda m: f"The German firm Siemens was forced to recall computers it had sold to a Chinese "
                  f"company linked to Iran's nuclear programme [{_cite(m, 'Siemens was forced')}].",
        judge=lambda answer: 0.9 if "Siemens" in answer else 0.1)
    answer = make_assistant(llm).ask(SIEMENS_PARAPHRASE)
    assert not answer.abstained and "Siemens" in answer.answer
    assert answer.reader == "llm" and answer.mode == "draft"
    assert answer.citations and all(c.supported for c in answer.citations)
    assert "000_e290e26eed46899f" in answer.citations[0].passage.source
    # Both readings travel with the answer: what the rules said, and the model's verified answer.
    assert answer.readings["rules"]["answer"] == ("" if rules_only.abstained else rules_only.answer)
    assert "Siemens" in answer.readings["llm"]["answer"]
    # The judge read the same passages the reader did: its prompt extends the reader's.
    reader_user = llm.prompts[-1][-1]["content"]
    judge_user = llm.judge_prompts[-1][-1]["content"]
    head = reader_user[: reader_user.rindex("\n", 0, len(reader_user) - 1) + 1]
    assert judge_user.startswith(head) and llm.judge_prompts[-1][0] == llm.prompts[-1][0]


def test_an_invented_figure_is_dropped_and_the_true_sentence_kept(make_assistant) -> None:
    q = "How many boxes of computers was Siemens forced to recall?"
    llm = ScriptedJudgingLLM(
        lambda m: (f"Siemens was forced to recall 111 boxes of computers [{_cite(m, 'Siemens')}]. "
                   f"The recall cost Siemens 4.5 million euros [{_cite(m, 'Siemens')}]."),
        judge=lambda answer: 0.95)
    answer = make_assistant(llm).ask(q)
    assert "111" in answer.answer and "4.5 million" not in answer.answer
    dropped = [c for c in answer.checks if not c.supported]
    assert any("4.5 million" in c.text for c in dropped)


def test_an_unanswerable_question_with_an_on_topic_passage_is_declined(make_assistant) -> None:
    q = "What price did Iran pay for the potassium perchlorate shipment?"
    llm = ScriptedJudgingLLM("NOT IN DOCUMENTS", judge=lambda answer: 0.2)
    answer = make_assistant(llm).ask(q)
    assert answer.abstained and answer.reader == "none"
    assert answer.readings["llm"]["declined"] is True
    # The rules' on-topic quote was put to the judge and turned down.
    if answer.readings["rules"]["answer"]:
        assert "quote" in answer.judgements and answer.judgements["quote"] < 0.5


def test_the_rules_quote_stands_when_the_model_declines_and_the_judge_agrees(make_assistant) -> None:
    q = "How many boxes of computers was Siemens forced to recall?"
    llm = ScriptedJudgingLLM("NOT IN DOCUMENTS", judge=lambda answer: 0.97 if "111" in answer else 0.1)
    answer = make_assistant(llm).ask(q)
    assert not answer.abstained and answer.reader == "rules" and "111" in answer.answer


def _recalled(m):  # type: ignore[no-untyped-def]
    return f"Siemens recalled 111 boxes of computers [{_cite(m, 'Siemens was')}]."


def _declines_then(committed):  # type: ignore[no-untyped-def]
    """A model that declines, then answers `committed` when it may not decline; the judge is
    lukewarm about everything (0.6: below the bar a quote must clear after a decline)."""
    from fakes import ScriptedCommittingLLM

    return ScriptedCommittingLLM("NOT IN DOCUMENTS", committed=committed, judge=lambda answer: 0.6)


def test_a_declined_answer_stands_when_the_models_committed_answer_rests_on_the_quote(
        make_assistant) -> None:
    q = "How many boxes of computers was Siemens forced to recall?"
    llm = _declines_then(_recalled)
    answer = make_assistant(llm).ask(q)
    assert not answer.abstained and answer.reader == "llm" and "111" in answer.answer
    assert llm.banned == [["NOT"]]
    # The decline was weighed (P 1.0), not streamed; the committed reading has the same prompt,
    # so llama.cpp reads the passages once.
    assert llm.weighed_prompts == llm.prompts and len(llm.prompts) == 1
    assert answer.judgements["committed1"] == 0.6
    assert answer.readings["llm"]["declined"] is True
    assert "111" in answer.readings["committed"]["answer"]


def test_a_committed_answer_that_rests_elsewhere_does_not_overrule_the_decline(
        make_assistant) -> None:
    from fakes import passage_blocks, squash

    from index.sentences import split_sentences

    q = "How many boxes of computers was Siemens forced to recall?"

    def elsewhere(m):  # type: ignore[no-untyped-def]
        siemens = _cite(m, "Siemens was")
        other, text = next((n, t) for n, t in passage_blocks(m).items() if n != siemens)
        sentence = max(split_sentences(squash(text).replace("…", " ")), key=len).strip().rstrip(".")
        return f"{sentence} [{other}]."

    llm = _declines_then(elsewhere)
    answer = make_assistant(llm).ask(q)
    # True, verified, and not the sentence the rules found: the decline stands, and the quote
    # alone (0.6) is below the bar after a decline.
    assert answer.readings["committed"]["answer"]
    assert answer.abstained and answer.reader == "none"
    assert not any(k.startswith("committed") for k in answer.judgements)


def test_an_untyped_question_gets_no_committed_reading(make_assistant) -> None:
    # No kind of answer asked for: the rules' quote is only the closest sentence, and a committed
    # answer agreeing with it would say little; the model is not asked again.
    q = "What was Siemens forced to do with the computers it sold?"
    llm = _declines_then(_recalled)
    answer = make_assistant(llm).ask(q)
    assert llm.banned == [] and "committed" not in answer.readings
    assert answer.abstained, (answer.reader, answer.open_kind, answer.judgements, answer.answer)


def test_a_model_that_leans_to_answering_answers_with_its_decline_banned(make_assistant) -> None:
    # NOT IN DOCUMENTS is the likeliest first token at P 0.4, and still the model leans to
    # answering: with DOSSIER_LLM_DECLINE_MIN 0.5 it is read once, with the decline banned.
    from fakes import ScriptedCommittingLLM

    q = "How many boxes of computers was Siemens forced to recall?"
    llm = ScriptedCommittingLLM("NOT IN DOCUMENTS", committed=_recalled, judge=lambda a: 0.9,
                                decline_weight=0.4)
    answer = make_assistant(llm, llm_decline_min=0.5).ask(q)
    assert not answer.abstained and answer.reader == "llm" and "111" in answer.answer
    assert llm.weighed == [["NOT"]] and llm.banned == [["NOT"]] and len(llm.prompts) == 1
    assert answer.readings["llm"]["decline_weight"] == 0.4
    assert answer.readings["llm"]["declined"] is False and "committed" not in answer.readings


def test_a_model_that_leans_to_declining_is_not_read(make_assistant) -> None:
    # P 0.9: a decline without generating a word; the rules' quote then needs the judge's
    # post-decline bar (0.8), which 0.6 does not clear.
    from fakes import ScriptedCommittingLLM

    q = "What price did Iran pay for the potassium perchlorate shipment?"
    llm = ScriptedCommittingLLM("Iran paid 5 million dollars [1].", committed="unused",
                                judge=lambda a: 0.6, decline_weight=0.9)
    answer = make_assistant(llm, llm_decline_min=0.5).ask(q)
    assert answer.abstained and answer.reader == "none"
    assert answer.readings["llm"] == {"answer": "", "declined": True, "draft": "NOT IN DOCUMENTS",
                                      "decline_weight": 0.9}
    # Not streamed: the scripted reply (an invention) was never asked for.
    assert all("Iran paid" not in text for text in [answer.answer, answer.draft])
    assert len(llm.prompts) == len(llm.banned)  # any reading was the committed one


def test_without_a_decline_bar_the_model_replies_as_it_would(make_assistant) -> None:
    q = "How many boxes of computers was Siemens forced to recall?"
    llm = _declines_then(_recalled)
    answer = make_assistant(llm, llm_decline_min=None).ask(q)
    assert llm.weighed == [] and "decline_weight" not in answer.readings["llm"]


def test_a_factoid_answer_carries_no_unrelated_sentence(make_assistant) -> None:
    from fakes import passage_blocks, squash

    from index.sentences import split_sentences

    q = "How many boxes of computers was Siemens forced to recall?"
    unrelated: list[str] = []

    def reply(m):  # type: ignore[no-untyped-def]
        siemens = _cite(m, "Siemens was forced")
        # A true sentence from another passage of the prompt, copied word for word.
        other, text = next((n, t) for n, t in passage_blocks(m).items() if n != siemens)
        sentence = max(split_sentences(squash(text).replace("…", " ")), key=len).strip().rstrip(".")
        unrelated.append(sentence)
        return f"Siemens was forced to recall 111 boxes of computers [{siemens}]. {sentence} [{other}]."

    # Both sentences are true (the verifier keeps both); only the first answers the question.
    llm = ScriptedJudgingLLM(reply, judge=lambda answer: 0.9 if "111 boxes" in answer else 0.1)
    answer = make_assistant(llm).ask(q)
    assert "111" in answer.answer and unrelated and unrelated[0][:40] not in answer.answer
    assert sum(c.supported for c in answer.checks) == 2
    assert answer.judgements["llm1"] >= 0.5 and answer.judgements["llm2"] < 0.5


def test_the_quote_streams_before_the_answer(make_assistant) -> None:
    q = "How many boxes of computers was Siemens forced to recall?"
    llm = ScriptedJudgingLLM(
        lambda m: f"Siemens recalled 111 boxes of computers [{_cite(m, 'Siemens was')}].",
        judge=lambda answer: 0.9)
    kinds = [e.kind for e in make_assistant(llm).ask_stream(q)]
    assert kinds[0] == "quote" and kinds[-1] == "answer"
    assert kinds.index("quote") < kinds.index("token")


def test_without_a_judge_the_rules_decide(make_assistant) -> None:
    # An LLM that cannot judge (HTTP backends): a question the rules decline is not even read.
    llm = ScriptedLLM("Siemens [1].")
    answer = make_assistant(llm).ask("Who won the 1998 football World Cup?")
    assert answer.abstained and llm.prompts == []


def test_a_restated_question_lends_its_facts_but_is_no_answer(embedder) -> None:
    from qa.evidence import EvidenceContext
    from qa.verify import verify_draft

    passage = ("Michael Arnold, head of Tinco Realisations, said the appeal would argue that the "
               "Tin Council was an association under the Companies Act.")
    q = "Who headed Tinco Realisations when the March 1987 appeal in the tin case was explained?"
    ctx = EvidenceContext(q, [passage], lambda t: embedder.encode(list(t)), lambda term: 1.0)
    # The year comes from the question, the name from the passage: supported.
    kept = verify_draft("Michael Arnold headed Tinco Realisations in March 1987 [1].", ctx)
    said = [k.text.rstrip(".") for k in kept.sentences]
    assert said == ["Michael Arnold headed Tinco Realisations in March 1987"]
    # A year that neither gives is still an invented figure.
    assert not verify_draft("Michael Arnold headed Tinco Realisations in 1985 [1].", ctx).sentences
    # Saying back the question, in other word forms, is not an answer.
    echo = verify_draft("The March 1987 appeal in the tin case was explained by the head of Tinco [1].", ctx)
    assert not echo.sentences
    assert "says nothing the question does not" in echo.checks[0].reason
