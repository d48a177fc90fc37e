"""Offline token counting (tiktoken cl100k from the BPE file llama-index-core ships)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol


class Tokenizer(Protocol):
    def encode(self, text: str, *, disallowed_special: object = ...) -> list[int]: ...


def _bundled_cache_dir() -> Path:
    import llama_index.core

    return Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"


@lru_cache(maxsize=1)
def tokenizer() -> Tokenizer:
    # tiktoken would download its BPE file without this; the copy in llama-index-core is offline.
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_bundled_cache_dir()))
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    # Documents may contain the literal text of special tokens ("<|endoftext|>"): count it as text.
    return len(tokenizer().encode(text, disallowed_special=()))
