"""Ingest progress: a callback per file finished, and the terminal progress bar the CLI shows."""

from __future__ import annotations

import sys
from collections.abc import Callable

# (files done, files in all, the name of the file just finished)
ProgressFn = Callable[[int, int, str], None]


def tqdm_progress(enabled: bool = True) -> ProgressFn | None:
    if not enabled:
        return None
    from tqdm import tqdm

    bar: tqdm | None = None

    def update(done: int, total: int, name: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="file", file=sys.stderr, desc="ingest", leave=True)
        bar.set_postfix_str(name[-40:], refresh=False)
        bar.update(1)
        if done >= total:
            bar.close()

    return update
