"""Find the parts of a document that are content, without rewriting the text.

Web captures carry comment forms, share buttons and link lists. Rather than deleting them (which
would shift every offset), we return the character ranges that hold content; chunking only looks
inside them, so `document_text[start:end]` stays exact for every chunk.
"""

from __future__ import annotations

import re

# Whole lines that are page furniture, never content.
_JUNK_LINE = re.compile(
    r"""^(?:
        leave\ a\ reply | fill\ in\ your\ details\ below.* | you\ are\ commenting\ using.* |
        connecting\ to\ %s | %d\ bloggers\ like\ this.* | get\ adobe\ flash\ player |
        previous\ ?next | previous | next | more\ stories\ on | tag\ cloud.* | tags\ cloud |
        original\ cached | news\ in\ pictures | share\ this.* | click\ to\ (?:share|print|email).* |
        like\ this:? | like\ loading\.* | related:? | log\ out.* | change\ \) | \(?\ ?change\ \)? |
        subscribe.* | advertisement | print | email | share | tweet | comments?\ \(\d+\) |
        (?:google\+|twitter|facebook|wordpress\.com)\ (?:photo|picture|logo).* |
        end\ cable\ text | nnnn | \d{1,6}
    )$""",
    re.I | re.X,
)
# A junk line that also starts a trailing block of page furniture (link lists, comment forms).
_TAIL_MARKER = re.compile(
    r"^(?:leave a reply|more stories on|tag cloud|tags cloud|related|share this|"
    r"get adobe flash player|you may also like|recommended|comments)\b",
    re.I,
)


def _is_short_link_line(line: str) -> bool:
    # Link lists are headlines: short, and never end with a full stop.
    return len(line.split()) <= 12 and not line.rstrip("\"'”’)").endswith(".")


def content_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Character ranges of `text` that are content: blank and junk lines excluded, adjacent
    content lines merged, and a trailing block of page furniture dropped whole."""
    lines: list[tuple[int, int, str]] = []
    pos = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            lines.append((pos + lead, pos + lead + len(stripped), stripped))
        pos += len(raw) + 1

    cut = len(lines)
    for i, (_, _, line) in enumerate(lines):
        if _TAIL_MARKER.match(line) and all(
            _JUNK_LINE.match(rest) or _is_short_link_line(rest) for _, _, rest in lines[i + 1 :]
        ):
            cut = i
            break

    spans: list[list[int]] = []
    last_kept = -2
    for i, (start, end, line) in enumerate(lines[:cut]):
        if _JUNK_LINE.match(line):
            continue
        if spans and last_kept == i - 1:
            spans[-1][1] = end
        else:
            spans.append([start, end])
        last_kept = i
    return tuple((s, e) for s, e in spans)
