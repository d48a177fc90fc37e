"""Crash loops: `kill -9` a real `dossier ingest` at random (seeded) points, again and again, with
files added, changed and deleted between runs; and in server mode, `kill -9` the Chroma server
mid-ingest and again while it restarts. After every kill the index must satisfy
`consistency.check_crashed` (no duplicate, no orphan vector, every document whole or absent,
keyword index never ahead of the catalog); the next run repairs whatever was interrupted, and a
final normal run ends with `consistency.check_complete` (Chroma == catalog == keyword index ==
the files on disk). The first-kill basics are in test_index_crash.py.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from conftest import cli_env, forget_chroma_clients, pick_free_port
from consistency import check_complete, check_crashed, corpus_sentences
from scale import scaled

from core.settings import Settings

# The real CLI entry point, with smaller embed+write rounds (FLUSH_CHUNKS) so that a run has many
# of them and a kill can land before, inside or between them.
CHILD = """
import sys
import index.ingest
index.ingest.FLUSH_CHUNKS = 4
from dossier.cli import main
sys.exit(main(["ingest", sys.argv[1], "--json"]))
"""


@dataclass
class Collection:
    """A folder of small files, changed between runs; remembers every version of every file."""

    folder: Path
    rng: random.Random
    sentences: list[str]
    history: dict[Path, list[bytes]] = field(default_factory=dict)
    current: dict[Path, bytes] = field(default_factory=dict)
    serial: int = 0

    def _body(self) -> bytes:
        # Short files (one chunk each) keep the embedding bill, the real cost, small.
        self.serial += 1
        first, second = self.rng.sample(self.sentences, 2)
        return f"Dispatch {self.serial:04d}\n\n{first} {second}\n".encode()

    def write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.history.setdefault(path, []).append(data)
        self.current[path] = data

    def add(self, n: int) -> None:
        for _ in range(n):
            sub = self.folder / f"box{self.rng.randrange(4)}"
            self.write(sub / f"dispatch_{self.serial + 1:04d}.txt", self._body())

    def change(self, n: int) -> None:
        for path in self.rng.sample(sorted(self.current), min(n, len(self.current))):
            self.write(path, self._body())

    def delete(self, n: int) -> None:
        for path in self.rng.sample(sorted(self.current), min(n, len(self.current))):
            path.unlink()
            del self.current[path]

    def mutate(self) -> None:
        self.add(self.rng.randint(3, 6))
        self.change(self.rng.randint(3, 6))
        self.delete(self.rng.randint(1, 3))


def _catalog_now(catalog: Path) -> tuple[int, int]:
    """(commit counter, documents pending) as another process sees the catalog now; (-1, -1)
    before it exists."""
    if not catalog.exists():
        return -1, -1
    try:
        db = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=1)
        try:
            row = db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
            pending = db.execute("SELECT count(*) FROM documents WHERE state != 'done'").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return -1, -1
    return (int(row[0]) if row else 0), int(pending)


def _descendants(pid: int) -> set[int]:
    """All live descendants of `pid` (parse workers, fork server, resource tracker), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its parent's wait is missing


def _wait_gone(pids: set[int], timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = {p for p in pids if _alive(p)}
        if not left:
            return set()
        time.sleep(0.1)
    return {p for p in pids if _alive(p)}


@dataclass
class Run:
    returncode: int | None  # None: killed by the test
    stdout: str
    stderr: str
    seconds: float
    orphans: set[int] = field(default_factory=set)


def _run_and_maybe_kill(
    settings: Settings, folder: Path, env: dict[str, str], *, kill_after_steps: int | None = None,
    kill_after_s: float | None = None, kill_when_pending: bool = False, extra_delay_s: float = 0.0,
    kill_pid: int | None = None, timeout: float = 300,
) -> Run:
    """Start the CLI child; when the trigger fires (a time, a number of catalog steps — each
    pending mark and each commit bumps the generation —, or a write round
    under way: more documents pending than at the start), SIGKILL it (or `kill_pid`, e.g. the
    Chroma server); then wait for the child to end."""
    forget_chroma_clients()  # this process holds no Chroma client while the child writes
    start_gen, start_pending = _catalog_now(settings.catalog_path)
    started = time.monotonic()
    out_path, err_path = settings.home.parent / "child.out", settings.home.parent / "child.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder)], env=env,
                                 cwd=settings.home.parent, stdout=out, stderr=err)
        killed = False
        family: set[int] = set()
        try:
            if kill_after_steps is not None or kill_after_s is not None or kill_when_pending:
                while child.poll() is None and time.monotonic() - started < timeout:
                    if kill_after_s is not None and time.monotonic() - started >= kill_after_s:
                        break
                    generation, pending = _catalog_now(settings.catalog_path)
                    steps = generation - max(start_gen, 0)
                    if kill_after_steps is not None and steps >= kill_after_steps:
                        break
                    if kill_when_pending and pending > max(start_pending, 0):
                        break
                    time.sleep(0.005)
                time.sleep(extra_delay_s)
                if child.poll() is None:
                    family = _descendants(child.pid)
                    os.kill(kill_pid or child.pid, signal.SIGKILL)
                    killed = kill_pid is None
            child.wait(timeout=max(1.0, timeout - (time.monotonic() - started)))
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    run = Run(None if killed else child.returncode, out_path.read_text(), err_path.read_text(),
              time.monotonic() - started)
    if killed:
        # The parse workers and the fork server notice their parent is gone and exit.
        run.orphans = _wait_gone(family, 30)
    return run


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_kill_9_loop_keeps_the_index_consistent(tmp_path: Path, corpus_dir: Path) -> None:
    rng = random.Random(20_24)
    settings = Settings(home=tmp_path / "home")
    col = Collection(tmp_path / "collection", rng, corpus_sentences(corpus_dir))
    col.add(24)
    env = cli_env(settings.home)

    first = _run_and_maybe_kill(settings, col.folder, env)
    assert first.returncode == 0, first.stderr[-3000:]
    check_complete(settings, col.current)
    full_run_s = first.seconds

    loops = scaled(20, 3)
    kills, log = 0, []
    for i in range(loops):
        col.mutate()
        kind = rng.choice(["time", "commits", "pending"])
        if kind == "time":  # anywhere: start-up, recovery, parsing, embedding, writing
            trigger = {"kill_after_s": rng.uniform(0.0, 0.8 * full_run_s)}
        elif kind == "commits":  # after a pending mark or a commit: inside or between write rounds
            trigger = {"kill_after_steps": rng.randint(1, 4), "extra_delay_s": rng.uniform(0, 0.3)}
        else:  # inside a write round: documents marked pending, vectors being replaced
            trigger = {"kill_when_pending": True, "extra_delay_s": rng.uniform(0, 0.03)}
        run = _run_and_maybe_kill(settings, col.folder, env, **trigger)
        assert not run.orphans, f"loop {i}: processes left behind by the killed ingest: {run.orphans}"
        if run.returncode is None:
            kills += 1
        else:  # it finished before the kill point
            assert run.returncode == 0, run.stderr[-3000:]
        snap = check_crashed(settings, col.history)
        pending = {d for d, row in snap.docs.items() if row["state"] != "done"}
        with_vectors = {cid.split(":", 1)[0] for cid in snap.chroma} & pending
        trig = ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in trigger.items())
        log.append(f"loop {i}: {trig} -> {'killed' if run.returncode is None else 'finished'} after "
                   f"{run.seconds:.1f}s; {len(pending)} pending, {len(with_vectors)} of them with vectors")
    assert kills >= max(1, loops // 2), log

    col.mutate()
    last = _run_and_maybe_kill(settings, col.folder, env)
    assert last.returncode == 0, last.stderr[-3000:]
    report = json.loads(last.stdout)
    assert not report["failed"]
    check_complete(settings, col.current)
    again = _run_and_maybe_kill(settings, col.folder, env)
    report = json.loads(again.stdout)
    assert (report["unchanged"], report["embedded"]) == (len(col.current), 0)
    print(f"\n{loops} loops, {kills} kills; first full run {full_run_s:.1f}s\n" + "\n".join(log))


# -- server mode ------------------------------------------------------------------------------


class ChromaServer:
    """A real `chroma run` on loopback that the test may SIGKILL and restart on the same path."""

    def __init__(self, exe: Path, path: Path, port: int, log: Path) -> None:
        self.cmd = [str(exe), "run", "--path", str(path), "--port", str(port), "--host", "127.0.0.1"]
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self, wait: bool = True, timeout: float = 90) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT)
        if not wait:
            return
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, self.log.read_text(errors="replace")[-2000:]
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"Chroma server did not start within {timeout:.0f} s"
            time.sleep(0.1)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def chroma_server(tmp_path: Path, venv_bin: Path) -> Iterator[ChromaServer]:
    exe = venv_bin / "chroma"
    if not exe.exists():
        pytest.skip(f"no chroma CLI at {exe}")
    server = ChromaServer(exe, tmp_path / "chroma-server", pick_free_port(), tmp_path / "chroma.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _one_error_line(run: Run) -> str:
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    errors = [ln for ln in lines if ln.startswith("dossier: error: ")]
    assert len(errors) == 1 and lines == errors, lines
    return errors[0]


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.timeout(1800)
def test_chroma_server_killed_mid_ingest_and_mid_restart(
    tmp_path: Path, corpus_dir: Path, chroma_server: ChromaServer
) -> None:
    rng = random.Random(99)
    settings = Settings(home=tmp_path / "home", chroma_url=chroma_server.url)
    col = Collection(tmp_path / "collection", rng, corpus_sentences(corpus_dir))
    col.add(30)
    env = cli_env(settings.home, DOSSIER_CHROMA_URL=chroma_server.url)
    first = _run_and_maybe_kill(settings, col.folder, env)
    assert first.returncode == 0, first.stderr[-3000:]
    check_complete(settings, col.current)

    loops = scaled(6, 1)
    log = []
    for i in range(loops):
        # Enough changes for several embed+write rounds, so the server dies with writes to go.
        col.add(6)
        col.change(6)
        col.delete(2)
        assert chroma_server.proc is not None
        run = _run_and_maybe_kill(settings, col.folder, env, kill_after_steps=1,
                                  extra_delay_s=rng.uniform(0, 0.05), kill_pid=chroma_server.proc.pid)
        chroma_server.proc.wait(timeout=30)
        # The ingest fails with one readable line and the fatal exit code (docs/contracts.md: 1).
        assert run.returncode == 1, (run.returncode, run.stderr[-3000:])
        line = _one_error_line(run)
        assert f"Chroma server at {chroma_server.url}" in line and "run the ingest again" in line, line

        if i == 0:  # while the server is down, an ingest is refused at once, in one line
            down = _run_and_maybe_kill(settings, col.folder, env)
            assert down.returncode == 1
            assert "cannot reach the Chroma server" in _one_error_line(down)

        # Kill it again while it restarts (before it answers), then start it for real.
        chroma_server.start(wait=False)
        time.sleep(rng.uniform(0.2, 2.0))
        chroma_server.kill()
        chroma_server.start()
        snap = check_crashed(settings, col.history)
        pending = sum(d["state"] != "done" for d in snap.docs.values())
        log.append(f"loop {i}: server killed after {run.seconds:.1f}s of ingest; {pending} pending")

    last = _run_and_maybe_kill(settings, col.folder, env)
    assert last.returncode == 0, last.stderr[-3000:]
    check_complete(settings, col.current)
    print(f"\n{loops} server loops\n" + "\n".join(log))
