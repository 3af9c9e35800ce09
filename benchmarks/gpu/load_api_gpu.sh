#!/usr/bin/env bash
# The partner-API load test on one GPU (H100 class), in at most 8 minutes; prints a Markdown table.
#
#   bash benchmarks/gpu/load_api_gpu.sh            # from the repository root, on the GPU host
#
# What it does (bounded: install ~3 min, index reuse or dense build ~1 min on GPU, load test ~2.5 min):
#   1. installs medcode with the [gpu] extra minus vLLM (faiss-gpu-cu12, tritonclient) into .venv-gpu;
#   2. starts DynamoDB Local + moto (scripts/services.py up);
#   3. runs benchmarks/load_api.py with dense retrieval ON: the Retriever replica puts the FAISS index
#      on the GPU (serving/retriever/dense.py maybe_to_gpu); the Serve config's num_gpus per deployment
#      are kept because Ray sees the GPU (accelerator_type is dropped unless Ray labels the card H100);
#   4. appends the table to docs/BENCHMARKS.md and prints it.
# Not run in this repository's CI (no GPU there).
set -euo pipefail
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false RAY_AUTH_MODE=disabled
export MEDCODE_DENSE_ENABLED=true
PY=${PY:-python3.11}
VENV=.venv-gpu
deadline=$(( $(date +%s) + 480 ))

if [ ! -x "$VENV/bin/medcode" ]; then
  timeout 240 bash -c "
    $PY -m venv $VENV
    $VENV/bin/pip install -q --upgrade pip
    $VENV/bin/pip install -q -c constraints.txt torch==2.13.0
    $VENV/bin/pip install -q -c constraints.txt -e . 'faiss-gpu-cu12==1.14.1' 'tritonclient[http,grpc]==2.73.0'
    $VENV/bin/pip uninstall -q -y faiss-cpu || true
    $VENV/bin/pip install -q --force-reinstall --no-deps 'faiss-gpu-cu12==1.14.1'
  "
fi
$VENV/bin/python -c "import faiss; print('faiss GPUs:', faiss.get_num_gpus())"
$VENV/bin/python scripts/services.py up
# the dense index (FAISS) is built once; on a GPU the MiniLM embeddings take about a minute
left=$(( deadline - $(date +%s) - 170 ))
[ "$left" -gt 30 ] || { echo "out of time budget before the load test" >&2; exit 1; }
timeout "$left" $VENV/bin/medcode index build >/dev/null
timeout 170 $VENV/bin/python benchmarks/load_api.py \
  --concurrency 1,8,32,64 --duration-s 25 --requests 2000 \
  --label "1x GPU (H100 class), dense retrieval on" --append docs/BENCHMARKS.md >/tmp/load_api_gpu.json
tail -8 docs/BENCHMARKS.md
