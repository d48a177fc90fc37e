"""Boilerplate (comment forms, flash banners, trailing link lists) never reaches a chunk."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.cleaning import content_spans
from index.ingest import ingest

JUNK = [
    # 004: the WordPress comment form
    "Leave a Reply",
    "Fill in your details below",
    "You are commenting using your",
    "Connecting to %s",
    "bloggers like this",
    "Google+ photo",
    # 000: page furniture and the trailing link list
    "Get Adobe Flash player",
    "China custody death protests",
    "Property protests erupting in China",
    "Shots Fired At Chinese Consulate",
    "China's Secret Weapon?",
    "TAG CLOUD",
    "More Stories On",
    "News in Pictures",
    "Original Cached",
    # 001: cable trailer
    "NNNN",
    "End Cable Text",
]
CONTENT = [
    ("000_e290e26eed46899f.txt", "208 tonnes of potassium perchlorate"),
    ("000_e290e26eed46899f.txt", "selling infrared detectors to a Chinese firm"),
    ("001_49bcd5187186c93a.txt", "RANDT"),
    ("001_49bcd5187186c93a.txt", "CHINA URGED TO TERMINATE CONVENTIONAL ARMS TRANSFERS TO IRAN"),
    ("003_96d8c7cf5974db9e.txt", "Dr. Muhammad Akram Zaheer"),
    ("004_a74087268ab38adb.txt", "would be held accountable"),
]


def test_junk_never_in_chunks_and_content_always_is(settings, corpus_dir: Path, embedder,
                                                    index_state) -> None:
    # The junk really is in the files (else this test could not fail).
    raw = "\n".join(p.read_text(encoding="utf-8") for p in corpus_dir.glob("*.txt"))
    for junk in JUNK:
        assert junk in raw, junk

    ingest([corpus_dir], settings, embedder=embedder)
    state = index_state(settings)
    chunks = list(state.chroma_docs.values())
    assert chunks
    for text, _ in chunks:
        for junk in JUNK:
            assert junk not in text, f"{junk!r} in chunk {text[:80]!r}"
    for source, phrase in CONTENT:
        assert any(phrase in text and meta["source"] == source for text, meta in chunks), phrase


@pytest.mark.parametrize(
    ("text", "kept", "dropped"),
    [
        (
            "Title\n\nBody sentence one.\n\nShare this:\nTwitter\nFacebook\n",
            ["Title", "Body sentence one."],
            ["Share this", "Twitter"],
        ),
        (
            # A junk-looking word inside a sentence, and a short headline mid-document, stay.
            "Please subscribe to the theory.\nShort headline\nMore body text follows here.\n"
            "Related\nOther story one\nOther story two",
            ["Please subscribe to the theory.", "Short headline", "More body text"],
            ["Other story one"],
        ),
    ],
)
def test_content_spans(text: str, kept: list[str], dropped: list[str]) -> None:
    spans = content_spans(text)
    inside = "\n".join(text[a:b] for a, b in spans)
    for phrase in kept:
        assert phrase in inside
    for phrase in dropped:
        assert phrase not in inside
    for a, b in spans:
        assert text[a:b] == text[a:b].strip()
