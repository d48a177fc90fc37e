"""Crash recovery: SIGKILL an ingest mid-way, run it again, and the index is whole and exact."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from consistency import corpus_sentences

from index.ingest import ingest

N_FILES = 300
KILL_AFTER = 60  # documents committed by the child

# The child is a plain ingest of the folder. FLUSH_CHUNKS is lowered so that the run consists of
# many embed → write rounds, giving the kill many points to land between or inside them.
CHILD = """
import sys
from pathlib import Path
import index.ingest as ingest_mod
from core.settings import Settings
ingest_mod.FLUSH_CHUNKS = 16
ingest_mod.ingest([Path(sys.argv[1])], Settings(home=Path(sys.argv[2])))
print("finished", flush=True)
"""


def _make_collection(folder: Path, corpus_dir: Path) -> None:
    rng = random.Random(1234)
    sentences = corpus_sentences(corpus_dir)
    assert len(sentences) > 50
    for i in range(N_FILES):
        sub = folder / f"batch{i % 7}"
        sub.mkdir(parents=True, exist_ok=True)
        # Short files (one chunk each) keep the embedding bill, the real cost, small.
        body = rng.choice(sentences)
        (sub / f"report_{i:03d}.txt").write_text(
            f"Field report {i:03d}\n\n{body}\n", encoding="utf-8"
        )


def _committed(catalog: Path) -> tuple[int, int]:
    """(documents done, chunks) as another process sees the catalog right now."""
    if not catalog.exists():
        return 0, 0
    try:
        db = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=1)
        try:
            done = db.execute("SELECT count(*) FROM documents WHERE state='done'").fetchone()[0]
            chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0, 0
    return int(done), int(chunks)


@pytest.mark.slow
def test_sigkill_mid_ingest_then_rerun_repairs(
    tmp_path: Path, settings, corpus_dir: Path, counting_embedder, check_consistent, child_env
) -> None:
    folder = tmp_path / "collection"
    _make_collection(folder, corpus_dir)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.txt"))
    assert len(files) == N_FILES

    log_path = tmp_path / "child.log"
    log = log_path.open("wb")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder), str(settings.home)],
        env=child_env(settings.home),
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # Kill as soon as a few rounds are committed: well after the start, well before the end.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            done, _ = _committed(settings.catalog_path)
            if done >= KILL_AFTER:
                break
            time.sleep(0.02)
        assert child.poll() is None, f"the child ended before the kill: {log_path.read_text()}"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        log.close()
    assert child.returncode == -signal.SIGKILL
    done_at_kill, _ = _committed(settings.catalog_path)
    assert 0 < done_at_kill < N_FILES, done_at_kill

    # Run it again, in-process.
    report = ingest([folder], settings, embedder=counting_embedder)
    assert not report.failed
    assert report.removed == 0
    assert report.unchanged >= done_at_kill  # committed work is not redone…
    assert report.added + report.updated + report.unchanged == N_FILES
    assert 0 < report.embedded < report.chunks  # …only the rest is embedded

    state = check_consistent(settings)  # Chroma == catalog == keyword, no dupes, none pending
    sources = sorted(d.source for d in state.docs.values())
    assert sources == files  # every file exactly once

    # And a further run is a no-op.
    counting_embedder.reset()
    report = ingest([folder], settings, embedder=counting_embedder)
    assert (report.unchanged, counting_embedder.calls) == (N_FILES, 0)


@pytest.mark.parametrize("stage", ["after_pending", "after_upsert"])
def test_crash_inside_a_write_round_is_repaired(
    tmp_path: Path, settings, corpus_copy: Path, counting_embedder, check_consistent,
    monkeypatch: pytest.MonkeyPatch, stage: str,
) -> None:
    """Deterministic version of the above: the writer dies at a chosen point of a round in
    which one document is updated (its old vectors deleted) and one is added. The next run
    ingests something else entirely: the documents the crash left pending are repaired anyway."""
    import index.ingest as ingest_mod

    ingest([corpus_copy], settings, embedder=counting_embedder)
    before = check_consistent(settings)
    changed = corpus_copy / "001_49bcd5187186c93a.txt"
    changed.write_text(changed.read_text() + "\nA new closing remark about MANPADS.\n")
    (corpus_copy / "005_new.txt").write_text("New file\n\nA report on export licences.\n")

    class Crash(BaseException):  # not an Exception: nothing on the way may swallow it
        pass

    real_upsert = ingest_mod.ChromaStore.upsert

    def upsert(self, chunks, vectors):  # type: ignore[no-untyped-def]
        if stage == "after_pending":
            raise Crash
        real_upsert(self, chunks, vectors)

    def commit(self, docs):  # type: ignore[no-untyped-def]
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(ingest_mod.ChromaStore, "upsert", upsert)
        patch.setattr(ingest_mod.Catalog, "commit_documents", commit)
        with pytest.raises(Crash):
            ingest([corpus_copy], settings, embedder=counting_embedder)

    lone = tmp_path / "lone.txt"
    lone.write_text("Lone note\n\nThe ferry timetable changes in October.\n")
    report = ingest([lone], settings, embedder=counting_embedder)
    assert not report.failed
    assert (report.added, report.updated, report.unchanged) == (1, 2, 0)
    state = check_consistent(settings)
    assert {d.source for d in state.docs.values()} == {
        *(p.name for p in corpus_copy.iterdir()), "lone.txt"
    }
    texts = "".join(t for t, _ in state.chroma_docs.values())
    assert "A new closing remark about MANPADS." in texts
    assert "A report on export licences." in texts
    old_changed = {c for c in before.chroma_ids if c.startswith(
        state.doc_by_source(changed.name).doc_id + ":")}
    assert not old_changed & set(state.chroma_ids)

    counting_embedder.reset()
    report = ingest([corpus_copy], settings, embedder=counting_embedder)
    assert (report.unchanged, counting_embedder.calls) == (6, 0)


def test_lost_chroma_folder_is_rebuilt(settings, corpus_dir: Path, counting_embedder,
                                       check_consistent, forget_chroma) -> None:
    """If Chroma's data disappears (restored backup, deleted folder), the next run re-embeds
    what the catalog says is indexed instead of trusting the content hashes."""
    import shutil

    first = ingest([corpus_dir], settings, embedder=counting_embedder)
    forget_chroma()
    shutil.rmtree(settings.chroma_path)
    counting_embedder.reset()
    report = ingest([corpus_dir], settings, embedder=counting_embedder)
    assert report.unchanged == 0 and report.updated == 5
    assert report.embedded == first.chunks
    check_consistent(settings)
