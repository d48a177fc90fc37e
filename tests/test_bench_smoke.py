"""Every benchmark script runs end to end at its `--smoke` size and writes a well-formed results
file. Not timed: speed figures belong to the full benchmark runs, not to CI."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))


def run_bench(script: str, tmp_path: Path, *extra: str, timeout: float = 300) -> dict[str, Any]:
    """Run bench/<script> --smoke with results sent to tmp_path; return its results JSON."""
    results = tmp_path / "results"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOSSIER_")}
    env.update(DOSSIER_BENCH_RESULTS=str(results), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, str(REPO / "bench" / script), "--smoke", *extra],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{script} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    files = sorted(results.glob("*.json"))
    assert len(files) == 1, f"{script} wrote {files}"
    assert files[0].name.endswith("_smoke.json"), files[0].name
    return json.loads(files[0].read_text())


def share(value: Any) -> bool:
    return isinstance(value, int | float) and 0.0 <= value <= 1.0


@pytest.mark.slow
def test_ingest_smoke(tmp_path: Path) -> None:
    r = run_bench("ingest.py", tmp_path)
    assert r["benchmark"] == "ingest" and r["smoke"] is True
    assert r["corpus"]["chunks"] > 0 and r["same_chunks"] is True
    assert r["raw"]["chunks_per_s"] > 0 and r["ingest"]["chunks_per_s"] > 0
    assert r["ingest"]["report"]["failed"] == []
    assert r["ratio_ingest_to_raw"] > 0
    assert r["reingest"]["report"]["unchanged"] == r["corpus"]["documents"]
    assert r["reingest"]["report"]["added"] == 0
    assert {b["step"] for b in r["ingest"]["breakdown"]} >= {"encode (main thread)", "keyword (BM25) rebuild"}
    assert r["settings"]["embed_backend"] == "onnx"
    assert [o["backend"] for o in r["other_runtimes_raw"]] == ["sentence-transformers"]
    assert r["other_runtimes_raw"][0]["chunks_per_s"] > 0
    assert r["corpus"]["documents"] == 5 + 3 and set(r["haystack"]) >= {"path", "sample"}


@pytest.mark.slow
def test_heldout_smoke(tmp_path: Path) -> None:
    """On ../shared/haystack where it exists, else on the sample in data/haystack_sample (the
    benchmark runs with no DOSSIER_* variable: $DOSSIER_HAYSTACK does not apply)."""
    from common import FULL_HAYSTACK

    r = run_bench("heldout.py", tmp_path)
    assert r["benchmark"] == "heldout" and r["smoke"] is True and r["questions"] == 8
    assert r["haystack"]["sample"] is not (FULL_HAYSTACK / "cables").is_dir()
    # the 8 smoke questions are about 3 cables; 10 cables and 10 Reuters items as distractors
    assert r["corpus"]["sources"] == 3 and r["corpus"]["cables"] == r["corpus"]["reuters"] == 10
    assert r["corpus"]["chunks"] > 0
    (row,) = r["rows"]
    assert row["backend"] == "extractive"
    assert all(share(row[m]) for m in ("evidence_hit@5", "answer_accuracy", "abstain_accuracy"))
    assert len(r["outcomes"]["extractive"]) == 8


@pytest.mark.slow
def test_peer_smoke(tmp_path: Path) -> None:
    for module in ("llama_index.vector_stores.chroma", "llama_index.embeddings.huggingface"):
        if importlib.util.find_spec(module.rsplit(".", 1)[0]) is None:
            pytest.skip(f"{module} missing: pip install -e '.[bench]'")
    r = run_bench("peer.py", tmp_path)
    assert r["benchmark"] == "peer" and r["questions"] == 12
    for side in ("dossier", "peer"):
        d = r[side]
        assert d["chunks"] > 0 and d["ingest_s"] > 0
        assert all(share(d[m]) for m in ("evidence_hit@1", "evidence_hit@5", "evidence_mrr"))
        assert d["evidence_hit@1"] <= d["evidence_hit@5"]
        assert 0 < d["latency_p50_ms"] <= d["latency_p95_ms"]
    assert r["dossier"]["evidence_hit@5"] > 0  # the sample documents are in the corpus
    assert len(r["per_question"]["dossier"]) == 12


@pytest.mark.slow
def test_chunking_smoke(tmp_path: Path) -> None:
    r = run_bench("chunking.py", tmp_path)
    assert r["benchmark"] == "chunking" and r["questions"] > 0
    assert [(row["chunk_tokens"], row["fusion"]) for row in r["rows"]] == [(128, "rrf"), (128, "dense")]
    for row in r["rows"]:
        assert row["chunks"] > 0
        assert share(row["evidence_hit@1"]) and share(row["evidence_hit@5"]) and share(row["evidence_mrr"])
    assert r["rows"][0]["evidence_hit@5"] > 0.5  # the sample corpus alone: the evidence is found


@pytest.mark.slow
def test_scale_smoke(tmp_path: Path) -> None:
    r = run_bench("scale.py", tmp_path)
    assert r["benchmark"] == "scale" and len(r["rows"]) == 1
    row = r["rows"][0]
    assert row["embedder"] == "hashing" and row["haystack_docs"] == 200 and row["documents"] == 205
    ing = row["ingest"]
    assert ing["documents"] == 205 and ing["failed"] == 0
    assert ing["chunks"] >= 205 and ing["embedded"] == ing["chunks"]
    assert ing["chunks_per_s"] > 0 and ing["docs_per_s"] > 0
    assert ing["rss_by_progress"][-1]["files"] == 205
    assert 50 < row["rss_after_load_mb"] <= row["peak_rss_mb"] < 8000
    assert 0 < row["disk_mb"]["chroma"] < row["disk_mb"]["total"]
    s = row["search"]
    assert s["questions"] > 0 and 0 < s["p50_ms"] <= s["p95_ms"]
    assert set(s["parts"]) == {"query_encode_p50_ms", "chroma_query_p50_ms", "bm25_search_p50_ms",
                               "fetch_passages_p50_ms"}
    n = row["needles"]
    assert share(n["hit@1"]) and share(n["hit@5"]) and n["hit@1"] <= n["hit@5"]
    assert n["hit@5"] > 0.5  # even a lexical stand-in embedder finds most needles among 200 docs


def test_synthetic_corpus_is_deterministic(tmp_path: Path) -> None:
    """Same seed → byte-identical files; the corpus of N documents is a prefix of a larger one;
    another seed gives other documents. (Uses the haystack when present, else the templates.)"""
    import synth
    from common import HAYSTACK

    pools = synth.load_pools(HAYSTACK, seed=3)
    a = [p.read_bytes() for p in synth.generate(tmp_path / "a", 40, 3, pools)]
    b = [p.read_bytes() for p in synth.generate(tmp_path / "b", 60, 3, synth.load_pools(HAYSTACK, seed=3))]
    c = [p.read_bytes() for p in synth.generate(tmp_path / "c", 40, 4, pools)]
    assert a == b[:40]
    assert sum(x != y for x, y in zip(a, c, strict=True)) >= 38
    assert len(set(a)) == 40
    words = [len(x.split()) for x in a]
    assert min(words) < 120 < max(words)  # mixed lengths: short wires and longer documents


@pytest.mark.slow
@pytest.mark.llm
@pytest.mark.server
def test_answer_smoke(tmp_path: Path) -> None:
    have_llama = importlib.util.find_spec("llama_cpp") is not None
    backends = "extractive,local,openai" if have_llama else "extractive"
    r = run_bench("answer.py", tmp_path, "--backends", backends)
    assert r["benchmark"] == "answer" and r["questions"] == 1
    assert list(r["summary"]) == backends.split(",")
    for name, s in r["summary"].items():
        assert s["questions"] == 1
        assert s["total_s"]["p50"] > 0
        assert 0 < s["first_output_s"]["p50"] <= s["total_s"]["p50"]
        assert share(s["answer_accuracy"])
        assert r["per_question"][name][0]["retrieve_s"] > 0
    for name in set(r["summary"]) - {"extractive"}:
        s = r["summary"][name]
        assert s["streamed"] == 1, s  # the smoke question is answerable: the LLM streams
        assert 0 < s["first_token_s"]["p50"] <= s["total_s"]["p50"]
        assert s["prompt_eval_s"]["p50"] > 0 and s["pieces"]["p50"] >= 1
    if have_llama:
        assert r["openai_server_start_s"] > 0
