"""Answer kinds are an enum that still equals the strings used before; the rules' word lists are
data files whose absence is reported by name."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from qa import answer_type, wordlists
from qa.answer_type import expected_type
from qa.candidates import NEIGHBOUR_KINDS
from qa.kinds import HARD_KINDS, AnswerKind
from qa.wordlists import WordListError

QUESTIONS = {
    "How much was Siemens fined?": "money",
    "How many passengers were on board?": "quantity",
    "What rate of interest did the bonds carry?": "percent",
    "What is the maximum range of the QW-1 missile?": "measure",
    "How long did the talks last?": "duration",
    "When did Putin visit Beijing?": "date",
    "Who is Wang Daxue?": "person",
    "Which French firm sold the radars?": "name",
}


def _returned_kinds() -> set[str]:
    """Every kind `expected_type` can return, read from its return statements."""
    tree = ast.parse(inspect.getsource(answer_type.expected_type))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Attribute):
            assert isinstance(node.value.value, ast.Name) and node.value.value.id == "AnswerKind"
            found.add(node.value.attr)
    return found


def test_every_kind_expected_type_returns_is_a_member() -> None:
    returned = _returned_kinds()
    assert returned == {k.name for k in AnswerKind}
    for question, kind in QUESTIONS.items():
        got = expected_type(question)
        assert isinstance(got, AnswerKind)
        assert got == kind  # equal to the string used before
    assert expected_type("What happened next?") is None


def test_kinds_compare_and_hash_as_strings() -> None:
    assert {"date": 1}[AnswerKind.DATE] == 1
    assert "money" in NEIGHBOUR_KINDS and AnswerKind.MONEY in NEIGHBOUR_KINDS
    assert NEIGHBOUR_KINDS == HARD_KINDS
    assert "name" not in HARD_KINDS and "person" not in HARD_KINDS


def test_every_data_file_loads() -> None:
    names = [f.name for f in resources.files("qa").joinpath("data").iterdir() if f.is_file()]
    assert names
    for name in names:
        assert wordlists.entries(name)
        assert all("#" not in e and e == e.strip() for e in wordlists.entries(name))


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Word lists read from tmp_path/data instead of the package; cached reads forgotten."""
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(wordlists.resources, "files", lambda package: tmp_path)
    wordlists.entries.cache_clear()
    yield tmp_path / "data"
    wordlists.entries.cache_clear()


def test_comments_and_blank_lines_are_skipped_and_order_kept(data_dir: Path) -> None:
    (data_dir / "test_list.txt").write_text("# why\nbeta\n\n  alpha  # note\nhalf an\n")
    assert wordlists.entries("test_list.txt") == ("beta", "alpha", "half an")
    assert wordlists.word_set("test_list.txt") == {"alpha", "beta", "half an"}
    assert wordlists.alternation("test_list.txt") == r"beta|alpha|half\ an"
    (data_dir / "test_pairs.tsv").write_text("# a glossary\nMFA\tMinistry of Foreign Affairs\n")
    assert wordlists.pairs("test_pairs.tsv") == {"MFA": "Ministry of Foreign Affairs"}


def test_missing_word_list_names_the_file(data_dir: Path) -> None:
    with pytest.raises(WordListError, match=r"qa/data/no_such_list\.txt is missing"):
        wordlists.entries("no_such_list.txt")
    assert issubclass(WordListError, FileNotFoundError)


def test_empty_or_malformed_word_list_is_an_error(data_dir: Path) -> None:
    (data_dir / "empty.txt").write_text("# only a comment\n\n")
    with pytest.raises(WordListError, match=r"qa/data/empty\.txt has no entries"):
        wordlists.entries("empty.txt")
    (data_dir / "bad.tsv").write_text("MFA Ministry of Foreign Affairs\n")
    with pytest.raises(WordListError, match=r"qa/data/bad\.tsv"):
        wordlists.pairs("bad.tsv")
