"""Repetition counts for the long tests: CI runs them small, `DOSSIER_LONG_TESTS=1` runs them full.

Read once at import, before the per-test fixture strips DOSSIER_* from the environment.
"""

from __future__ import annotations

import os

LONG = os.environ.get("DOSSIER_LONG_TESTS") == "1"


def scaled(full: int, ci: int) -> int:
    """`full` repetitions when the long variant is asked for, else the small CI count."""
    return full if LONG else ci
