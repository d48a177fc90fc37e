"""`dossier eval draft` with an LLM: the model's questions are kept only when the document's text
bears them out (eval/draft_llm.py); with `extractive` the cloze heuristic drafts them as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import Message, ScriptedLLM

from core.errors import BackendError, ConfigError
from core.settings import Settings
from dossier.cli import main
from eval import draft_llm
from eval.draft import CLOZE, DraftReport, draft_questions, summary
from eval.gold import load_gold

DOCUMENT = """Acme Bicycles opens a factory in Lyon

Acme Bicycles opened a new factory in Lyon in March 2019, the company said on Tuesday.
The factory employs 340 workers and makes electric
bicycles for the European market.
Its director, Marie Dupont, said the plant cost 12 million euros to build.
The company chose Lyon because of its rail links and its trained workforce.
"""

FACTOIDS = [
    {"question": "How many people work at the Lyon factory?", "answer": "340",
     # The file breaks this sentence over two lines: evidence matches with whitespace normalised.
     "evidence": "The factory employs 340 workers and makes electric bicycles for the European market."},
    {"question": "How much did the plant in Lyon cost?", "answer": "12 Million Euros",
     "evidence": "Its director, Marie Dupont, said the plant cost 12 million euros to build."},
]
OPEN = {"question": "Why did Acme Bicycles choose Lyon?", "kind": "why",
        "points": [{"answer": "rail links", "evidence": "because of its rail links"},
                   {"answer": "trained workforce", "evidence": "and its trained workforce"}]}
NEAR_MISS = {"question": "How many bicycles does the Lyon factory produce each year?", "answer": ""}


def lines(*objects: object) -> str:
    return "\n".join(json.dumps(o) for o in objects)


def scripted(factoid: str, open_: str = "", near_miss: str = "") -> ScriptedLLM:
    """A model that answers each of the three prompts with its own canned reply."""

    def reply(messages: list[Message]) -> str:
        user = messages[-1]["content"]
        if "never gives" in user:
            return near_miss
        if "2 to 4 points" in user:
            return open_
        return factoid

    return ScriptedLLM(reply, name="scripted")


@pytest.fixture
def doc_path(tmp_path: Path) -> Path:
    path = tmp_path / "docs" / "acme.txt"
    path.parent.mkdir()
    path.write_text(DOCUMENT, encoding="utf-8")
    return path


@pytest.fixture
def llm_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", llm="scripted")


def draft(paths: list[Path], settings: Settings, llm: ScriptedLLM | None = None
          ) -> tuple[list[dict], DraftReport]:
    report = DraftReport()
    return list(draft_questions(paths, settings, report, llm=llm)), report


def write_and_load(rows: list[dict], path: Path) -> list:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return load_gold(path)


def test_llm_mode_writes_a_gold_file_with_all_three_kinds(doc_path, llm_settings, tmp_path) -> None:
    llm = scripted(lines(*FACTOIDS), lines(OPEN), lines(NEAR_MISS))
    rows, report = draft([doc_path.parent], llm_settings, llm)
    gold = write_and_load(rows, tmp_path / "gold.jsonl")

    assert [q.id for q in gold] == ["d001", "d002", "d003", "d004"]
    assert all(r["draft"].startswith("llm scripted: ") for r in rows)
    factoid, cost, why, near = gold
    assert factoid.answers == ["340"] and factoid.sources == ["acme.txt"] and factoid.kind == "number"
    # The evidence written is the document's own text, line break and all.
    assert factoid.evidence == ["The factory employs 340 workers and makes electric\n"
                                "bicycles for the European market."]
    assert factoid.evidence[0] in DOCUMENT
    assert cost.answers == ["12 million euros"]  # as the document spells it
    assert why.open and why.kind == "why" and why.answers == [] and why.evidence == []
    assert [p.answers for p in why.key_points] == [["rail links"], ["trained workforce"]]
    assert all(p.evidence in DOCUMENT and p.source == "acme.txt" for p in why.key_points)
    assert not near.answerable and near.answers == near.sources == near.evidence == []
    assert near.kind == "unanswerable"

    assert report.method == "llm scripted" and not report.tally.rejected
    assert report.tally.kept == {"factoid": 2, "open": 1, "near miss": 1}
    assert len(llm.prompts) == report.tally.calls == 3
    # The model reads the document's sentences, never more than a window at a time.
    for prompt in llm.prompts:
        text = prompt[-1]["content"].rsplit("<<<\n", 1)[1].split("\n>>>", 1)[0]
        assert 0 < len(text) <= draft_llm.WINDOW_CHARS
        assert "Marie Dupont" in text


def test_invalid_proposals_are_rejected_and_counted(doc_path, llm_settings) -> None:
    factoids = lines(
        FACTOIDS[0],
        {"question": "When did the Lyon factory open?", "answer": "April 2019",
         "evidence": "Acme Bicycles opened a new factory in Lyon in April 2019."},
        {"question": "Who runs the Lyon plant?", "answer": "Jean Martin",
         "evidence": "Its director, Marie Dupont, said the plant cost 12 million euros to build."},
        {"question": "The factory employs ____ workers.", "answer": "340",
         "evidence": "The factory employs 340 workers and makes electric bicycles"},
        {"question": "Acme Bicycles opened a new factory in Lyon in which month?",
         "answer": "March 2019",
         "evidence": "Acme Bicycles opened a new factory in Lyon in March 2019, the company said"},
        {**FACTOIDS[0], "question": "How many workers does the factory employ?"},  # same fact
    ) + '\n{"question": "What does the factory make?", "answer": "electric bic'  # cut off
    near_misses = lines(
        NEAR_MISS,
        {"question": "Who directs the Lyon factory?", "answer": "Marie Dupont"},
        {"question": "How many workers does the Lyon factory employ?", "answer": ""},
        {"question": "How long is the bridge over the Tamar in Lyon?", "answer": ""},
        {"question": "What is the capital of Australia?", "answer": ""},
    )
    rows, report = draft([doc_path], llm_settings, scripted(factoids, "", near_misses))

    assert [r["question"] for r in rows] == [FACTOIDS[0]["question"], NEAR_MISS["question"]]
    assert report.tally.rejected == {
        "evidence not in the document": 1,
        "answer not in its evidence": 1,
        "cloze": 1,
        "copies the evidence": 1,
        "duplicate": 1,
        "not JSON": 1,
        "near miss: its answer is in the document": 1,
        "near miss: all its key words are in the document": 1,
        "copied from the prompt's example": 1,
        "near miss: not about the document": 1,
    }
    text = "\n".join(summary(report))
    assert "kept 2 of 12 proposed questions" in text
    assert "evidence not in the document 1" in text and "cloze 1" in text


def test_an_open_question_keeps_only_its_valid_key_points(doc_path, llm_settings) -> None:
    points = [*OPEN["points"], {"answer": "cheap land", "evidence": "because of its cheap land"}]
    too_few = {"question": "What does the text say about Marie Dupont?", "kind": "summary",
               "points": [{"answer": "director", "evidence": "Its director, Marie Dupont"},
                          {"answer": "Paris", "evidence": "said the plant cost 12 million euros"}]}
    replies = lines({**OPEN, "kind": "reason", "points": points}, too_few)
    rows, report = draft([doc_path], llm_settings, scripted("", replies))

    assert len(rows) == 1 and rows[0]["kind"] == "why"  # an unknown kind is read off the question
    assert [p["answers"] for p in rows[0]["key_points"]] == [["rail links"], ["trained workforce"]]
    assert report.tally.dropped_points == {"evidence not in the document": 1,
                                           "answer not in its evidence": 1}
    assert report.tally.rejected == {"fewer than 2 valid key points": 1}


def test_evidence_is_quoted_from_the_document_or_rejected() -> None:
    doc = draft_llm.Doc("The US shared intelligence with eight \u201ckey allies\u201d, including Spain.\n"
                        "It sent   the cable\nfrom Washington, the US said.", "cable.txt")
    assert doc.quote("It sent the cable from Washington") == "It sent   the cable\nfrom Washington"
    # A full stop the model adds where it cut the sentence short is forgiven, nothing else.
    assert doc.quote("It sent the cable from Washington.") == "It sent   the cable\nfrom Washington"
    for evidence, reason in [('eight "key allies", including Spain', "not in the document"),
                             ("it sent the cable from Washington", "not in the document"),
                             ("the cable from", "too short")]:
        with pytest.raises(draft_llm.Rejected, match=reason):
            doc.quote(evidence)


@pytest.mark.parametrize(("question", "evidence", "reason"), [
    ("Fill in the blank: the factory employs how many workers?", "", "cloze"),
    ("Acme opened a factory in Lyon in which month of 2019?",
     "Acme opened a factory in Lyon in March 2019", "copies the evidence"),
    ("When did Acme open its Lyon factory?", "Acme opened a factory in Lyon in March 2019", None),
    ("Who is Marie Dupont?", "Its director, Marie Dupont, said", None),  # short: not a copy
])
def test_question_rules(question: str, evidence: str, reason: str | None) -> None:
    if reason is None:
        draft_llm.check_question(question, [evidence])
    else:
        with pytest.raises(draft_llm.Rejected, match=reason):
            draft_llm.check_question(question, [evidence] if evidence else [])


def test_replies_in_other_shapes_still_parse() -> None:
    array = '```json\n[{"question": "A?", "answer": "b"},\n {"question": "C?"}]\n```'
    assert draft_llm.objects(array) == ([{"question": "A?", "answer": "b"}, {"question": "C?"}], 0)
    pretty = 'Here they are:\n{\n  "question": "A?",\n  "points": [{"answer": "b"}]\n}\n{"question": '
    assert draft_llm.objects(pretty) == ([{"question": "A?", "points": [{"answer": "b"}]}], 1)


def test_extractive_drafts_cloze_questions_as_before(doc_path, tmp_path) -> None:
    rows, report = draft([doc_path], Settings(home=tmp_path / "home", llm="extractive"))
    assert report.method == CLOZE and not report.note and report.written == len(rows) == 3
    assert rows[0] == {
        "id": "d001",
        "question": "Fill the blank: Acme Bicycles opened a new factory in Lyon in March ____, "
                    "the company said on Tuesday.",
        "answers": ["2019"],
        "sources": ["acme.txt"],
        "evidence": ["Acme Bicycles opened a new factory in Lyon in March 2019, the company said on "
                     "Tuesday."],
        "answerable": True,
        "kind": "date",
        "draft": "heuristic cloze: rewrite as a natural question before use",
    }
    assert all(r["question"].startswith("Fill the blank: ") for r in rows)
    write_and_load(rows, tmp_path / "gold.jsonl")
    assert "rewrite each as a natural question" in "\n".join(summary(report))


def test_a_model_that_cannot_load_falls_back_to_cloze(doc_path, tmp_path, monkeypatch) -> None:
    from qa import llm as llm_module

    def unloadable(settings: Settings) -> None:
        raise ConfigError("GGUF model not found")

    monkeypatch.setitem(llm_module.LLMS, "broken", unloadable)
    rows, report = draft([doc_path], Settings(home=tmp_path / "home", llm="broken"))
    assert rows and all(r["draft"].startswith("heuristic cloze") for r in rows)
    assert "broken LLM could not be loaded (GGUF model not found)" in summary(report)[0]
    with pytest.raises(ConfigError, match="unknown DOSSIER_LLM"):
        draft([doc_path], Settings(home=tmp_path / "home", llm="no-such-backend"))


def test_a_server_that_does_not_answer_falls_back_to_cloze(doc_path, llm_settings) -> None:
    def down(messages: list[Message]) -> str:
        raise BackendError("cannot reach http://127.0.0.1:9/v1")

    rows, report = draft([doc_path], llm_settings, ScriptedLLM(down, name="openai"))
    assert rows and report.method == CLOZE and "openai LLM did not answer" in report.note


def test_cli_prints_rows_and_a_summary(doc_path, monkeypatch, capsys, tmp_path) -> None:
    from qa import llm as llm_module

    llm = scripted(lines(FACTOIDS[0], {**FACTOIDS[1], "evidence": "the plant cost 13 million euros"}),
                   lines(OPEN), lines(NEAR_MISS))
    monkeypatch.setitem(llm_module.LLMS, "scripted", lambda settings: llm)
    assert main(["eval", "draft", str(doc_path.parent), "--llm", "scripted"]) == 0
    out, err = capsys.readouterr()
    gold = write_and_load([json.loads(line) for line in out.splitlines()], tmp_path / "gold.jsonl")
    assert [q.id for q in gold] == ["d001", "d002", "d003"]
    assert "llm scripted: kept 3 of 4 proposed questions" in err
    assert "rejected: evidence not in the document 1" in err
    assert "near misses are checked by words only" in err
