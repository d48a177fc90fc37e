"""Search beyond ASCII: accented Latin, Cyrillic and CJK words are index terms (unit tests of the
tokenizer), English is tokenized exactly as before, an index from the old tokenizer is rebuilt,
and non-English documents ingested with the real embedder and Chroma are found by their words."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from index import keyword
from index.catalog import Catalog, ChunkRecord
from index.ingest import ingest
from index.keyword import TOKENIZER_VERSION, KeywordIndex, tokenize
from index.models import Chunk, Document
from index.reader import IndexReader

REPO = Path(__file__).resolve().parents[1]

GERMAN = (
    "Bäckerei in Zürich\n\n"
    "Die Bäckerei Müller an der Bahnhofstraße in Zürich verkauft jeden Morgen dreihundert "
    "Brötchen. Seit dem Umbau der Straßenbahnhaltestelle kommen die Kunden schon um sechs Uhr.\n"
)
RUSSIAN = (
    "Библиотека в Новосибирске\n\n"
    "Городская библиотека в Новосибирске получила в подарок тысячу старинных книг. Директор "
    "библиотеки поблагодарил жителей города и пообещал открыть новый читальный зал.\n"
)
CHINESE = (
    "杭州龙井茶\n\n"
    "杭州的茶农今年采摘了大量龙井茶。由于春天雨水充足，茶叶的品质比去年更好。"
    "当地政府计划明年扩大茶园的面积。\n"
)


# -- the tokenizer ---------------------------------------------------------------------------

_OLD_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def old_tokenize(text: str) -> list[str]:
    """The ASCII-only tokenizer this one replaced, as the reference for English text."""
    words = [w for w in _OLD_TOKEN.findall(text.lower()) if w not in keyword._STOPWORDS]
    return list(keyword._STEM.stemWords(words))


def test_accented_latin_words_are_whole_and_match_without_their_accents() -> None:
    assert tokenize("Zürich") == tokenize("Zurich") == tokenize("ZÜRICH") == ["zurich"]
    assert tokenize("Straße") == tokenize("STRASSE") == tokenize("strasse")
    assert tokenize("São Paulo, Kraków, Łódź") == tokenize("Sao Paulo, Krakow, Lodz")
    # The same word typed with a combining accent (NFD), as some PDFs and Macs give it.
    assert tokenize(unicodedata.normalize("NFD", "Brötchen")) == tokenize("Brötchen")
    # Full-width Latin letters (in CJK text) are the ASCII ones.
    assert tokenize("Ｚｕｒｉｃｈ ２０２４") == tokenize("Zurich 2024")


def test_english_words_in_accented_text_give_the_terms_they_always_gave() -> None:
    text = "The ministers were meeting in Zürich about the shipments of centrifuges."
    assert [t for t in tokenize(text) if t != "zurich"] == old_tokenize(text.replace("Zürich", ""))
    # Symbols that never joined a word still do not: "km²", "snake_case", "Apple™".
    assert tokenize("40 km² of snake_case for Apple™ é") == ["40", "km", "snake", "case",
                                                             "appl", "e"]


def test_english_text_is_tokenized_exactly_as_before() -> None:
    """Every paragraph of the sample corpus gives the same terms in the same order, whether it
    takes the ASCII path or the Unicode one (curly quotes, non-breaking spaces, or an accented
    word added)."""
    paragraphs = [p for path in sorted((REPO / "data" / "corpus").glob("*.txt"))
                  for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    assert len(paragraphs) > 30
    assert any(not p.isascii() for p in paragraphs) and any(p.isascii() for p in paragraphs)
    for para in paragraphs:
        expected = old_tokenize(para)
        assert tokenize(para) == expected
        assert tokenize(para + " Café") == [*expected, "cafe"]


def test_cyrillic_words_are_terms_and_stemmed_as_russian() -> None:
    assert tokenize("Москва") and tokenize("Москва") == tokenize("Москвы") == tokenize("МОСКВЕ")
    assert tokenize("библиотека") == tokenize("библиотеки")
    assert tokenize("ёлка") == tokenize("елка")  # ё is commonly written е
    assert tokenize("й") != tokenize("и")  # a letter of its own, not an accented и
    assert tokenize("Αθήνα") == tokenize("Αθηνα") != []  # Greek too


def test_cjk_runs_give_characters_and_bigrams() -> None:
    terms = tokenize("北京是中国的首都。")
    assert {"北京", "中国", "首都", "京"} <= set(terms)
    assert "北京是" not in terms and "。" not in terms
    assert set(tokenize("首都")) <= set(terms)  # a question's word is found in the text
    assert {"東京", "タワ"} <= set(tokenize("東京タワー"))
    assert {"서울", "에서"} <= set(tokenize("서울에서 만나요"))
    # Latin inside CJK text is a word of its own.
    assert set(tokenize("iPhone 手机")) == set(tokenize("iPhone手机")) >= {"手机", *tokenize("iPhone")}


def test_non_english_documents_rank_first_in_the_keyword_index() -> None:
    chunks = [ChunkRecord(f"d{i}:0", f"d{i}", f"d{i}.txt", 0, 0, len(t), t, "", "")
              for i, t in enumerate([GERMAN, RUSSIAN, CHINESE, "Potassium perchlorate in Iran."])]
    index = KeywordIndex.build(chunks, generation=1)
    for query, doc in [("Backerei Zurich", "d0"), ("Brötchen", "d0"),
                       ("библиотеки Новосибирска", "d1"), ("龙井茶", "d2"), ("茶叶", "d2"),
                       ("perchlorate", "d3")]:
        hits = index.search(query, 4)
        assert hits and hits[0].chunk_id == f"{doc}:0", (query, hits)
    assert index.search("Bahnhof", 4) == []  # a part of a compound is no word of its own


# -- an index tokenized by the old tokenizer -----------------------------------------------


def test_an_index_from_another_tokenizer_is_rebuilt_on_open(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite")
    doc = Document("g", "g.txt", str(tmp_path / "g.txt"), str(tmp_path), GERMAN, "g.txt")
    catalog.commit_documents([(doc, [Chunk("g:0", "g", "g.txt", 0, 0, len(GERMAN), GERMAN)])])
    folder = tmp_path / "kw"
    keyword.keyword_index(catalog, folder)
    # As the previous release saved it: no version stamp, its terms from [a-z0-9]+.
    state = json.loads((folder / "state.json").read_text())
    assert state["tokenizer"] == TOKENIZER_VERSION
    del state["tokenizer"]
    (folder / "state.json").write_text(json.dumps(state))
    assert KeywordIndex.load(folder, catalog.generation) is None
    keyword._cache.clear()  # as a new process after the upgrade

    index = keyword.keyword_index(catalog, folder)
    assert [h.chunk_id for h in index.search("Zürich Bäckerei", 3)] == ["g:0"]
    assert json.loads((folder / "state.json").read_text())["tokenizer"] == TOKENIZER_VERSION
    catalog.close()


# -- ingested with the real embedder and Chroma ----------------------------------------------


@pytest.fixture
def mixed_corpus(corpus_copy: Path) -> Path:
    """The English sample corpus plus a German, a Russian and a Chinese document."""
    for name, text in [("bäckerei.txt", GERMAN), ("библиотека.txt", RUSSIAN), ("龙井茶.txt", CHINESE)]:
        (corpus_copy / name).write_text(text, encoding="utf-8")
    return corpus_copy


QUERIES = [  # (question, the document it must find first)
    ("Backerei Muller Zurich", "bäckerei.txt"),  # typed without the accents
    ("Brötchen", "bäckerei.txt"),
    ("библиотеки Новосибирска", "библиотека.txt"),  # other case endings than the text's
    ("龙井茶", "龙井茶.txt"),
]


def test_non_english_documents_are_found_by_their_words(
    settings, mixed_corpus: Path, embedder, dossier_cli
) -> None:
    report = ingest([mixed_corpus], settings, embedder=embedder)
    assert report.added == 8 and not report.failed, report
    reader = IndexReader(settings, embedder)
    for question, source in QUERIES:
        top = reader.keyword(question, 3)
        assert top and top[0].source == source, (question, [p.source for p in top])

    from qa import Assistant

    assistant = Assistant(settings.model_copy(update={"llm": "extractive"}), embedder=embedder)
    for question, source in QUERIES:
        top = assistant.search(question, k=3)
        assert top and top[0].source == source, (question, [p.source for p in top])

    question, source = QUERIES[2]
    proc = dossier_cli(["search", question, "--json", "--k", "3"], settings.home)
    assert proc.returncode == 0, proc.stderr
    passages = json.loads(proc.stdout)["passages"]
    assert passages[0]["source"] == source
    assert "Новосибирске" in passages[0]["text"]
