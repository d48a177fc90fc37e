"""`dossier ask` / `dossier search` as docs/contracts.md fixes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dossier.cli import main

QUESTION = "How many boxes of computers was Siemens forced to recall?"
PASSAGE_KEYS = {"source": str, "doc_id": str, "start": int, "end": int, "text": str, "score": float}
ASK_KEYS = {"question": str, "answer": str, "abstained": bool, "citations": list, "backend": str,
            "timings_ms": dict}


def check_passage(p: dict, corpus_dir: Path) -> None:
    for key, kind in PASSAGE_KEYS.items():
        assert isinstance(p[key], kind), (key, p[key])
    # The .txt corpus loads verbatim (only \r\n is normalised): the file is the document text.
    document = (corpus_dir / p["source"]).read_text(encoding="utf-8").replace("\r\n", "\n")
    assert 0 <= p["start"] < p["end"] <= len(document)
    assert p["text"] == document[p["start"]:p["end"]]


def check_ask(out: dict, question: str, corpus_dir: Path) -> None:
    # The contract's keys, spelled exactly, with their types (extra keys are allowed by it).
    for key, kind in ASK_KEYS.items():
        assert isinstance(out[key], kind), (key, out.get(key))
    assert out["question"] == question
    assert set(out["timings_ms"]) >= {"retrieve", "generate", "total"}
    assert all(isinstance(v, (int, float)) and v >= 0 for v in out["timings_ms"].values())
    for n, c in enumerate(out["citations"], 1):
        assert c["n"] == n and isinstance(c["supported"], bool)
        assert f"[{n}]" in out["answer"]
        check_passage(c, corpus_dir)
    for p in out.get("closest", []):
        check_passage(p, corpus_dir)


def test_ask_json_console_script(dossier_cli, qa_settings, corpus_dir: Path) -> None:
    run = dossier_cli(["ask", QUESTION, "--json", "--llm", "extractive"], qa_settings.home)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1, run.stdout
    out = json.loads(lines[0])
    check_ask(out, QUESTION, corpus_dir)
    assert out["backend"] == "extractive"
    assert not out["abstained"] and "111" in out["answer"]
    assert out["citations"] and all(c["supported"] for c in out["citations"])


def test_ask_json_abstains_with_exit_0(qa_settings, corpus_dir: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DOSSIER_HOME", str(qa_settings.home))
    question = "What is the capital of Australia?"
    assert main(["ask", question, "--json", "--llm", "extractive"]) == 0
    out = json.loads(capsys.readouterr().out)
    check_ask(out, question, corpus_dir)
    assert out["abstained"] is True and out["citations"] == []
    assert "do not contain" in out["answer"]


def test_search_json_shape(qa_settings, corpus_dir: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DOSSIER_HOME", str(qa_settings.home))
    assert main(["search", QUESTION, "--json", "--k", "7"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"question", "passages"} and out["question"] == QUESTION
    assert len(out["passages"]) == 7
    for p in out["passages"]:
        check_passage(p, corpus_dir)
    scores = [p["score"] for p in out["passages"]]
    assert scores == sorted(scores, reverse=True)
    assert any("111 boxes of computers" in p["text"] for p in out["passages"][:3])


@pytest.mark.parametrize("command", ["ask", "search"])
def test_empty_home_exits_4_with_one_line(command: str, tmp_path: Path, monkeypatch, capsys) -> None:
    empty = tmp_path / "empty-home"
    empty.mkdir()
    monkeypatch.setenv("DOSSIER_HOME", str(empty))
    assert main([command, QUESTION, "--json", *(["--llm", "extractive"] if command == "ask" else [])]) == 4
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "no index" in lines[0] and "dossier ingest" in lines[0]
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("command", ["ask", "search"])
def test_k_zero_is_a_usage_error(command: str, dossier_cli, tmp_path: Path) -> None:
    run = dossier_cli([command, QUESTION, "--k", "0"], tmp_path / "home")
    assert run.returncode == 2
    assert run.stdout == "" and "--k" in run.stderr and "Traceback" not in run.stderr
