# Two commands do all set-up on a fresh machine:
#   make run   install, index the sample corpus, open the chat UI
#   make test  install (with test tools) and run the test suite
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test install lint bench ingest clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	# torch first and pinned: it is the CPU build from local disk, not the multi-GB CUDA one.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[local,dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/dossier ingest data/corpus
	$(BIN)/dossier ui

test: install
	bash tests/setup_browser.sh
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/peer.py
	$(BIN)/python bench/answer.py
	# 1k and 10k documents with the real encoder (~15 min on 2 cores), 100k with the bench-only
	# hashing embedder (store, BM25, memory and disk at full size in ~15 min)
	nice -n 10 $(BIN)/python bench/scale.py --docs 1000,10000
	nice -n 10 $(BIN)/python bench/scale.py --docs 100000 --embedder hashing

clean:
	rm -rf .dossier
