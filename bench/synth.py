"""A deterministic, seeded generator of news-wire and diplomatic-cable-like documents.

Realistic text without copying test data into the repository: at run time the sentences of the
real haystack (Reuters-21578 wires and 2010 cables in ../shared/haystack) are read into pools,
and every synthetic document recombines sentences drawn from them under a wire or cable header.
Without the haystack (e.g. a CI machine) a small built-in template grammar stands in, so the
benchmark still runs; the report says which source was used.

Determinism: document `i` depends only on (seed, i) and the pools, so the same seed always
writes byte-identical files, and the corpus of N documents is a prefix of the corpus of M > N.

Length mix (words of body): most documents are short wires, a few are multi-page cables:
    60% wire 40-110 · 28% brief 180-420 · 10% report 600-1000 · 2% long cable 1800-3000
which averages ≈ 2.5 chunks of 160 tokens per document (measured: 10k documents ≈ 25k chunks,
≈ 12 minutes of embedding at the bundled encoder's ~36 chunks/s on two idle cores).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# (share, min words, max words, style)
LENGTH_MIX: list[tuple[float, int, int, str]] = [
    (0.62, 25, 70, "wire"),
    (0.27, 100, 240, "brief"),
    (0.095, 400, 650, "report"),
    (0.015, 1400, 2200, "cable"),
]
FILES_PER_FOLDER = 1000
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)\"'][.!?])\s+(?=[A-Z\"(])")
_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
_CLASSIFICATIONS = ["UNCLASSIFIED", "UNCLASSIFIED//FOR OFFICIAL USE ONLY", "CONFIDENTIAL",
                    "CONFIDENTIAL//NOFORN", "SECRET", "SECRET//NOFORN"]


@dataclass
class Pools:
    """Sentences, titles and places to recombine; `source` says where they came from."""

    source: str
    # One entry per source document: (title, its sentences). A synthetic document draws from two
    # to four of them, so it stays on a few topics as a real one does.
    wires: list[tuple[str, list[str]]] = field(default_factory=list)
    cables: list[tuple[str, list[str]]] = field(default_factory=list)
    datelines: list[str] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def _sentences(body: str) -> list[str]:
    """Whole sentences of a body whose lines are hard-wrapped: paragraphs joined, then split."""
    out = []
    for para in re.split(r"\n\s*\n", body):
        flat = " ".join(para.split())
        flat = re.sub(r"^¶\s*\d+\.\s*(\([A-Z/]+\)\s*)?", "", flat)  # cable paragraph markers
        for s in _SENTENCE_END.split(flat):
            # Keep ordinary prose: no header fragments, no tables, no shouting.
            if 40 <= len(s) <= 320 and s[0].isupper() and s[-1] in '.!?"' and not s.isupper() \
                    and s.count("  ") == 0 and sum(c.isupper() for c in s) < len(s) * 0.4:
                out.append(s)
    return out


def read_haystack(folder: Path) -> Pools | None:
    """Sentence pools from the haystack, or None if it is absent. Files are read in sorted order,
    so the pools (and hence the corpus) depend on nothing but the haystack's content."""
    cables, reuters = folder / "cables", folder / "reuters"
    if not cables.is_dir() or not reuters.is_dir():
        return None
    pools = Pools(source=f"haystack sentences ({folder})")
    datelines, origins, tags = set(), set(), set()
    for path in sorted(reuters.glob("*.txt")):
        lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
        if len(lines) < 4:
            continue
        for line in lines[1:4]:
            if line.startswith("Dateline:"):
                place = line[len("Dateline:"):].split(",")[0].strip()
                if place and place.isupper() and len(place) < 30:
                    datelines.add(place)
        sentences = _sentences("\n".join(lines[3:]))
        if sentences:
            pools.wires.append((lines[0].strip(), sentences))
    for path in sorted(cables.glob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = text.split("\n")
        for line in lines[1:8]:
            if line.startswith("Origin:"):
                origins.add(line[len("Origin:"):].strip())
        m = re.search(r"^TAGS:\s*(.+)$", text, re.M)
        if m:
            tags.update(t for t in m.group(1).split() if t.isalpha() and t.isupper() and len(t) <= 5)
        sentences = _sentences("\n".join(lines[6:]))
        if sentences:
            pools.cables.append((lines[0].strip(), sentences))
    pools.datelines, pools.origins, pools.tags = sorted(datelines), sorted(origins), sorted(tags)
    if len(pools.wires) < 100 or len(pools.cables) < 100:
        return None
    return pools


# -- the fallback grammar (no haystack) --------------------------------------------------------
_G = {
    "who": ["The minister", "A senior official", "The central bank", "The ambassador",
            "Company spokesman Peter Hale", "The foreign ministry", "Opposition leader Ana Ruiz",
            "The trade delegation", "Analysts in the capital", "The state oil company",
            "Deputy Foreign Minister Li Wen", "The defense attache", "The finance committee"],
    "did": ["said", "told reporters", "confirmed", "denied", "announced", "warned",
            "noted in a meeting with Poloff", "argued", "reported"],
    "what": ["that exports of {good} rose {n} pct in {month}",
             "that the government would cut its budget deficit to {n} billion dollars",
             "that talks on {good} quotas had stalled",
             "that {n} tonnes of {good} were shipped to {place} last {month}",
             "that the embassy expects a decision on the {good} contract by {month}",
             "that security forces seized {n} crates of {good} near {place}",
             "that inflation would stay below {n} pct this year",
             "that the delegation would visit {place} in {month}"],
    "good": ["wheat", "crude oil", "copper", "coffee", "sugar", "steel pipe", "fertilizer",
             "aluminium", "machine tools", "soybeans", "natural gas", "rice", "cotton"],
    "place": ["Rotterdam", "Karachi", "Lagos", "Manila", "Santos", "Basra", "Odessa", "Mombasa",
              "Chittagong", "Valparaiso", "Jeddah", "Gdansk", "Colombo", "Dakar"],
}


def template_pools(seed: int) -> Pools:
    rng = random.Random(f"templates:{seed}")

    def sentence() -> str:
        what = rng.choice(_G["what"]).format(
            good=rng.choice(_G["good"]), n=rng.randint(2, 950), month=rng.choice(_MONTHS).title(),
            place=rng.choice(_G["place"]))
        return f"{rng.choice(_G['who'])} {rng.choice(_G['did'])} {what}."

    pools = Pools(source="built-in templates (haystack absent)")
    goods, places = _G["good"], _G["place"]
    pools.wires = [(f"{rng.choice(goods).upper()} {v} IN {rng.choice(places).upper()}",
                    [sentence() for _ in range(12)])
                   for v in ("OUTPUT UP", "TALKS", "PRICES FALL") * 100]
    pools.cables = [(f"{rng.choice(places).upper()}: {rng.choice(goods).upper()} {v}",
                     [sentence() for _ in range(40)])
                    for v in ("SHIPMENT", "DEMARCHE", "OUTLOOK") * 40]
    pools.datelines = [p.upper() for p in _G["place"]]
    pools.origins = [f"Embassy {p}" for p in _G["place"]]
    pools.tags = ["PREL", "PGOV", "ECON", "ETRD", "PARM", "MARR", "EPET", "KNNP", "PTER"]
    return pools


def load_pools(haystack: Path, seed: int, source: str = "auto") -> Pools:
    if source in ("auto", "haystack"):
        pools = read_haystack(haystack)
        if pools is not None:
            return pools
        if source == "haystack":
            raise SystemExit(f"haystack folder {haystack} is absent or empty: use --source templates")
    return template_pools(seed)


# -- documents ---------------------------------------------------------------------------------
def _style(rng: random.Random) -> tuple[int, str]:
    x = rng.random()
    for share, lo, hi, style in LENGTH_MIX:
        if x < share:
            return rng.randint(lo, hi), style
        x -= share
    _, lo, hi, style = LENGTH_MIX[-1]
    return rng.randint(lo, hi), style


def _paragraphs(rng: random.Random, pool: list[tuple[str, list[str]]], words: int,
                topics: int) -> tuple[str, list[str]]:
    """A title and paragraphs of about `words` words: sentences taken in their original order
    from a few source documents, the sources interleaved paragraph by paragraph (more sources
    are drawn when these run out)."""
    sources = [rng.choice(pool) for _ in range(topics)]
    title = sources[0][0]
    cursors = [[s, rng.randrange(max(1, len(s) // 3))] for _, s in sources]
    paras: list[str] = []
    count = 0
    while count < words:
        cur = rng.choice(cursors)
        if cur[1] >= len(cur[0]):
            cur[0], cur[1] = rng.choice(pool)[1], 0
        para = []
        for _ in range(rng.randint(1, 4)):
            if cur[1] >= len(cur[0]) or count >= words:
                break
            s = cur[0][cur[1]]
            cur[1] += 1
            para.append(s)
            count += s.count(" ") + 1
        if para:
            paras.append(" ".join(para))
    return title, paras


def _wrap(text: str, width: int = 66) -> str:
    """Hard-wrapped lines, as in the real wires and cables."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines)


def document(i: int, seed: int, pools: Pools) -> str:
    """Document `i` of the corpus: a Reuters-style wire or a cable, depending on its length."""
    rng = random.Random(f"{seed}:{i}")
    words, style = _style(rng)
    year = rng.randint(1986, 2010)
    month, day, hour, minute = rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59)
    if style in ("wire", "brief"):
        title, paras = _paragraphs(rng, pools.wires, words, topics=2 if style == "wire" else 3)
        place = rng.choice(pools.datelines)
        body = "\n".join("    " + _wrap(p) for p in paras)
        return (f"{title}\nDate: {day:02d}-{_MONTHS[month - 1]}-{year} {hour:02d}:{minute:02d}:"
                f"{rng.randint(0, 59):02d}.00\nDateline: {place}, {_MONTHS[month - 1].title()} {day} -\n\n"
                f"{body}\n\n Reuter\n")
    title, paras = _paragraphs(rng, pools.cables, words, topics=3 if style == "report" else 4)
    origin = rng.choice(pools.origins)
    city = origin.split()[-1].upper()
    number = rng.randint(100, 9999)
    ref = f"{year % 100:02d}{city}{number}"
    classification = rng.choice(_CLASSIFICATIONS)
    sections = max(1, len(paras) // 8)
    mark = "U" if classification.startswith("UNCLASSIFIED") else classification[0]
    body = "\n\n".join(f"¶{n}. ({mark}) " + _wrap(p) for n, p in enumerate(paras, 1))
    tags = " ".join(rng.sample(pools.tags, k=min(4, len(pools.tags))))
    return (
        f"{title}\nReference ID: {ref}\nCreated: {year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}\n"
        f"Released: 2010-12-{rng.randint(1, 28):02d} 21:09\nClassification: {classification}\n"
        f"Origin: {origin}\n\n{' '.join(classification.split('//')[0])} SECTION 01 OF "
        f"{sections:02d} {city} {number:06d}\n\nSIPDIS\n\nE.O. 12958: DECL: {month:02d}/{day:02d}/"
        f"{year + 10}\nTAGS: {tags}\nSUBJECT: {_wrap(title)}\n\n{body}\n"
    )


def relpath(i: int) -> str:
    """Where document `i` goes: folders of FILES_PER_FOLDER files, like a real collection."""
    return f"part{i // FILES_PER_FOLDER:03d}/doc{i:06d}.txt"


def generate(dest: Path, n: int, seed: int, pools: Pools) -> Iterator[Path]:
    """Write documents 0..n-1 under `dest` (bytes depend only on seed, i and the pools)."""
    for i in range(n):
        path = dest / relpath(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(document(i, seed, pools).encode("utf-8"))
        yield path
