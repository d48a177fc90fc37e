"""The sentence-transformers model run by ONNX Runtime: the same vectors, 2× faster on this CPU
(bench/ingest.py).

A sentence-transformers folder (Transformer → mean or CLS pooling → optional Normalize) is
exported once to ONNX with torch and kept in the model cache (`DOSSIER_MODEL_CACHE`, by default
~/.cache/dossier/models, shared by every DOSSIER_HOME); after that only
onnxruntime and the `tokenizers` library run, so torch is not even loaded. The vectors are the
sentence-transformers ones to within float rounding (tests/test_index_onnx.py), so an index built
with either runtime stays valid with the other.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ConfigError, missing_dependency

from .model_files import keep_hub_offline

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Bumped when the export changes, so that a cached file from an older export is not reused.
_EXPORT_VERSION = "2"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the model's configuration ({exc}); "
                          "set DOSSIER_EMBED_BACKEND=sentence-transformers") from exc


class ModelLayout:
    """What the ONNX runtime needs to know of a sentence-transformers folder, or a ConfigError
    saying why this model needs the sentence-transformers backend."""

    def __init__(self, folder: Path) -> None:
        if not (folder / "modules.json").is_file():
            raise ConfigError(
                f"{folder}: not a local sentence-transformers folder (no modules.json); the onnx "
                "embedding backend needs one — set DOSSIER_EMBED_BACKEND=sentence-transformers")
        modules = _read_json(folder / "modules.json")
        kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            raise ConfigError(f"{folder}: modules {kinds} are not Transformer → Pooling (→ Normalize); "
                              "set DOSSIER_EMBED_BACKEND=sentence-transformers for this model")
        pool_dir = next(m.get("path", "") for m in modules if m.get("type", "").endswith("Pooling"))
        pooling = _read_json(folder / pool_dir / "config.json")
        modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
        if modes not in (["pooling_mode_mean_tokens"], ["pooling_mode_cls_token"]):
            raise ConfigError(f"{folder}: pooling {modes} is not supported by the onnx backend; "
                              "set DOSSIER_EMBED_BACKEND=sentence-transformers")
        if not (folder / "tokenizer.json").is_file():
            raise ConfigError(f"{folder}: no tokenizer.json (a fast tokenizer is needed); "
                              "set DOSSIER_EMBED_BACKEND=sentence-transformers")
        st_config = folder / "sentence_bert_config.json"
        self.folder = folder
        self.mean_pooling = modes == ["pooling_mode_mean_tokens"]
        config = _read_json(st_config) if st_config.is_file() else {}
        self.max_tokens = int(config.get("max_seq_length", 512))
        # sentence-transformers lowercases the text itself when its config says so.
        self.lower_case = bool(config.get("do_lower_case", False))
        self.dim = int(pooling.get("word_embedding_dimension", 0))

    def fingerprint(self) -> str:
        """Names the exported file: the weights and configs it was made from."""
        h = hashlib.sha256(_EXPORT_VERSION.encode())
        for path in sorted(self.folder.glob("*")):
            if path.is_file():
                stat = path.stat()
                h.update(f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
        return h.hexdigest()[:16]


def export(layout: ModelLayout, dest: Path) -> Path:
    """Write the transformer (token embeddings out) as ONNX to `dest`, atomically."""
    keep_hub_offline()
    try:
        import onnx  # noqa: F401  (torch's exporter writes the file with it)
    except ImportError as exc:
        raise missing_dependency("onnx") from exc
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise missing_dependency("torch") from exc
    try:
        # Plain attention, not torch's fused SDPA: exported, it is 13% faster on onnxruntime's CPU
        # kernels (bench: 68.6 vs 60.4 chunks/s, same vectors to 1.4e-7).
        model = AutoModel.from_pretrained(str(layout.folder), attn_implementation="eager").eval()
    except (TypeError, ValueError):  # a model class without the choice: its default attention
        model = AutoModel.from_pretrained(str(layout.folder)).eval()

    class _Hidden(torch.nn.Module):
        # Keyword arguments: BertModel.forward's positional order changed across releases.
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    sample = torch.ones((2, 8), dtype=torch.long)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the model cache {dest.parent} ({exc.strerror}): set "
                          "DOSSIER_MODEL_CACHE to a writable folder") from exc
    # Each process writes its own file and renames it into place: two first runs may race.
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}.tmp")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The tracer's notes on Python control flow in the model: expected, and not the user's.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden(model), (sample, sample, torch.zeros_like(sample)), str(tmp),
                input_names=list(_INPUTS), output_names=["last_hidden_state"],
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")},
                opset_version=17, dynamo=False,
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


class OnnxEmbedder:
    def __init__(self, name: str, folder: Path, cache: Path, batch_size: int,
                 threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise missing_dependency("onnxruntime") from exc
        layout = ModelLayout(folder)
        # One name per model folder (its path), then the fingerprint of its files and the export.
        stem = f"{folder.name}-{hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:8]}"
        path = cache / f"{stem}-{layout.fingerprint()}.onnx"
        if not path.is_file():
            export(layout, path)
            # The same folder's earlier exports (an older export version, a changed model) would
            # only fill the cache: 90 MB each for the bundled model. An open one stays readable.
            for stale in cache.glob(f"{folder.name}-*.onnx"):
                # Ours, or named as before exports had the folder key ("model-<16 hex>.onnx").
                ours = stale.name.startswith(f"{stem}-") or re.fullmatch(
                    rf"{re.escape(folder.name)}-[0-9a-f]{{16}}\.onnx", stale.name)
                if ours and stale != path:
                    stale.unlink(missing_ok=True)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.log_severity_level = 3
        # Idle worker threads sleep instead of spinning: ingest runs parse processes beside the
        # encoder on few cores, where spinning threads take CPU from them.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=layout.max_tokens)
        self._tokenizer.no_padding()
        self._layout = layout
        self.name = name
        self.dim = layout.dim
        self.max_tokens = layout.max_tokens
        self.batch_size = batch_size
        self.model_file = path
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        size = batch_size or self.batch_size
        encodings = self._tokenizer.encode_batch(
            [t.lower() for t in texts] if self._layout.lower_case else list(texts))
        # Longest first, as sentence-transformers does: a batch pads only to its own longest text.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            for at in range(0, len(order), size):
                batch = order[at: at + size]
                out[batch] = self._run([encodings[i] for i in batch])
        return out

    def _run(self, encodings: Sequence[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        feeds = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in _INPUTS}
        for row, e in enumerate(encodings):
            n = len(e.ids)
            feeds["input_ids"][row, :n] = e.ids
            feeds["attention_mask"][row, :n] = e.attention_mask
            feeds["token_type_ids"][row, :n] = e.type_ids
        hidden = self._session.run(None, feeds)[0]
        if self._layout.mean_pooling:
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            vectors = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        else:
            vectors = hidden[:, 0]
        # Always unit length, as the sentence-transformers backend asks for (cosine = dot product).
        vectors = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return vectors.astype(np.float32)
