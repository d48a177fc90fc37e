"""Remake data/haystack_sample/haystack_sample.tar.xz from the full haystack.

    python data/haystack_sample/make_sample.py [--haystack ../shared/haystack] [--seed 18]

The sample holds, from the full haystack (README.md here says what it is and its terms):
  - every source document of the first held-out set (eval/gold/heldout_haystack.jsonl), so that
    `bench/heldout.py --smoke` and the tests find the documents their questions are about;
  - cables/08STATE50524.txt, the cable that the sample corpus's Beijing cable answers;
  - seeded random cables (at most MAX_CABLE_BYTES each, to keep the archive small) and Reuters
    items up to --cables and --reuters documents in all;
  - the two manifests, cut down to the chosen documents (original order).

Same haystack, same seed: the same archive, byte for byte (sorted members, fixed times and
owners, xz preset 9).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import os
import random
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ARCHIVE = HERE / "haystack_sample.tar.xz"
HELDOUT = REPO / "eval" / "gold" / "heldout_haystack.jsonl"
ALWAYS = {"cables": ["08STATE50524.txt"], "reuters": []}
MAX_CABLE_BYTES = 12_000
FOLDERS = ("cables", "reuters")


def heldout_sources() -> set[str]:
    lines = [json.loads(line) for line in HELDOUT.read_text().splitlines() if line.strip()]
    return {s for q in lines for s in q.get("sources", [])}


def choose(haystack: Path, n: dict[str, int], seed: int) -> dict[str, list[str]]:
    wanted = heldout_sources()
    rng = random.Random(seed)
    chosen: dict[str, list[str]] = {}
    for folder in FOLDERS:
        names = sorted(p.name for p in (haystack / folder).glob("*.txt"))
        fixed = sorted((wanted & set(names)) | set(ALWAYS[folder]))
        missing = set(ALWAYS[folder]) - set(names)
        if missing:
            raise SystemExit(f"{folder}/{sorted(missing)} not in {haystack}")
        pool = [x for x in names if x not in fixed]
        if folder == "cables":
            pool = [x for x in pool if (haystack / folder / x).stat().st_size <= MAX_CABLE_BYTES]
        extra = rng.sample(pool, max(0, n[folder] - len(fixed)))
        chosen[folder] = sorted(fixed + extra)
    found = {x for names in chosen.values() for x in names}
    if wanted - found:
        raise SystemExit(f"held-out sources not in {haystack}: {sorted(wanted - found)}")
    return chosen


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(f"haystack/{name}")
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def build(haystack: Path, chosen: dict[str, list[str]], out: Path) -> None:
    members: dict[str, bytes] = {}
    for folder, names in chosen.items():
        for name in names:
            members[f"{folder}/{name}"] = (haystack / folder / name).read_bytes()
        ids = {Path(x).stem for x in names}
        manifest = haystack / f"{folder}.manifest.jsonl"
        keep = [line for line in manifest.read_text("utf-8").splitlines()
                if line.strip() and json.loads(line)["id"] in ids]
        if len(keep) != len(ids):
            raise SystemExit(f"{manifest}: {len(keep)} entries for {len(ids)} documents")
        members[f"{folder}.manifest.jsonl"] = ("\n".join(keep) + "\n").encode("utf-8")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(members):
            _add(tar, name, members[name])
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(lzma.compress(raw.getvalue(), preset=9 | lzma.PRESET_EXTREME))
    os.replace(tmp, out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--haystack", type=Path,
                    default=Path(os.environ.get("DOSSIER_HAYSTACK", REPO.parent / "shared" / "haystack")))
    ap.add_argument("--cables", type=int, default=60)
    ap.add_argument("--reuters", type=int, default=150)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--out", type=Path, default=ARCHIVE)
    args = ap.parse_args()
    if not (args.haystack / "cables").is_dir():
        print(f"no haystack at {args.haystack}", file=sys.stderr)
        return 2
    chosen = choose(args.haystack, {"cables": args.cables, "reuters": args.reuters}, args.seed)
    build(args.haystack, chosen, args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"{args.out}: {len(chosen['cables'])} cables, {len(chosen['reuters'])} Reuters items, "
          f"{args.out.stat().st_size / 1024:.0f} KB, sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
