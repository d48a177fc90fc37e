"""Imported only by the fork server of the parse processes (see `index.sandbox.WORKER_PRELOAD`):
it loads the tokenizer there once (~1 s), so every parse worker forked from it, including each
replacement for a worker killed on a time limit, starts with it already loaded."""

from .tokens import tokenizer

tokenizer()
