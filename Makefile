# medcode: `make demo` and `make test` work on a fresh machine (Python 3.11, Java 17, Node/npm).
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test lint services-up services-down index clean

$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first: the CPU wheel on disk; otherwise a dependency pulls a multi-GB CUDA build
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) node_modules/.installed

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

services-up: install
	$(BIN)/python scripts/services.py up

services-down:
	-$(BIN)/python scripts/services.py down

index: install
	$(BIN)/medcode index build

demo: install
	$(BIN)/python scripts/services.py up
	$(BIN)/medcode demo; rc=$$?; $(BIN)/python scripts/services.py down; exit $$rc

test: install
	$(BIN)/python scripts/services.py up
	$(BIN)/pytest -q; rc=$$?; $(BIN)/python scripts/services.py down; exit $$rc

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) node_modules var out .pytest_cache
