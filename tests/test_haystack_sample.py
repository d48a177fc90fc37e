"""The haystack sample in data/haystack_sample: what the tests and the smoke benchmarks need is in
it, its manifests match its files, it is remade byte for byte by its own script, and the loader
(bench/common.py) falls back to it when the full haystack is absent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "data" / "haystack_sample"
sys.path.append(str(REPO / "bench"))

import common  # noqa: E402  (bench/common.py)


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return common.unpack_sample(cache=tmp_path_factory.mktemp("cache"))


def test_sample_is_small_and_documented() -> None:
    assert common.HAYSTACK_SAMPLE.stat().st_size < 400_000
    readme = (SAMPLE_DIR / "README.md").read_text()
    for words in ("Reuters-21578", "Distribution 1.0", "WikiLeaks", "make_sample.py"):
        assert words in readme


def test_sample_holds_what_the_tests_need(unpacked: Path) -> None:
    cables = {p.name for p in (unpacked / "cables").glob("*.txt")}
    reuters = {p.name for p in (unpacked / "reuters").glob("*.txt")}
    assert len(cables) == 60 and len(reuters) == 150
    gold = [json.loads(line) for line in
            (REPO / "eval" / "gold" / "heldout_haystack.jsonl").read_text().splitlines() if line.strip()]
    sources = {s for q in gold for s in q["sources"]}
    assert len(sources) == 24 and sources <= cables | reuters
    assert "08STATE50524.txt" in cables
    assert "QW-1" in (unpacked / "cables" / "08STATE50524.txt").read_text("utf-8")
    for folder, names in (("cables", cables), ("reuters", reuters)):
        lines = (unpacked / f"{folder}.manifest.jsonl").read_text("utf-8").splitlines()
        assert sorted(json.loads(x)["id"] + ".txt" for x in lines) == sorted(names)


def test_sample_files_are_the_haystack_files(unpacked: Path, haystack: common.Haystack) -> None:
    """Byte-identical to the full haystack's documents where it is here (else: to themselves
    through a second unpack, which still proves the archive reads back the same)."""
    full = haystack.path if not haystack.sample else common.unpack_sample(cache=unpacked.parent / "again")
    files = sorted(unpacked.glob("*/*.txt"))
    assert len(files) == 210
    assert all(f.read_bytes() == (full / f.parent.name / f.name).read_bytes() for f in files)


def test_make_sample_remakes_the_archive(unpacked: Path, tmp_path: Path) -> None:
    """The script, run on the sample itself with the same seed and counts, picks every document
    again and writes the committed archive byte for byte (sorted members, fixed times, xz -9e)."""
    out = tmp_path / "again.tar.xz"
    proc = subprocess.run([sys.executable, str(SAMPLE_DIR / "make_sample.py"), "--haystack", str(unpacked),
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "60 cables, 150 Reuters items" in proc.stdout
    assert out.read_bytes() == common.HAYSTACK_SAMPLE.read_bytes()


def test_loader_falls_back_to_the_sample(tmp_path: Path) -> None:
    """With DOSSIER_HAYSTACK pointing at a folder that does not exist, a benchmark process reads
    the sample, says so, and records it in its results."""
    code = ("import common, json; h = common.haystack(); "
            "print(json.dumps(h.as_dict())); print(len(common.cable_files(3)))")
    env = {"DOSSIER_HAYSTACK": str(tmp_path / "absent"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO / "bench", env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    note, info, n = proc.stdout.splitlines()
    assert "is absent; running on the sample (60 cables, 150 Reuters items" in note
    h = json.loads(info)
    assert h["sample"] is True and h["cables"] == 60 and h["reuters"] == 150
    assert Path(h["path"]).parent == tmp_path / "cache" / "dossier" and n == "3"
