"""``medcode code --llm``: a broken model path gives the ranker's codes, marked, and exit 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_code_with_a_bad_model_path_falls_back(tmp_path):
    env = os.environ | {"MEDCODE_AUDIT": "0", "MEDCODE_DENSE_ENABLED": "false", "HF_HUB_OFFLINE": "1"}
    env.pop("MEDCODE_LLM_MODEL_PATH", None)
    bad = tmp_path / "no-such-model"
    r = subprocess.run([sys.executable, "-m", "medcode.cli", "code", "samples/text/ortho_injury.txt", "--dos",
                        "2026-06-15", "--json", "--llm", str(bad)], capture_output=True, text=True, cwd=ROOT, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    body = json.loads(r.stdout)  # stdout is the JSON alone
    assert body["codes"] and body["llm"]["status"] == "error" and str(bad) in body["llm"]["reason"]
    assert "LLM stage unavailable" in r.stderr
    r = subprocess.run([sys.executable, "-m", "medcode.cli", "code", "samples/text/ortho_injury.txt", "--dos",
                        "2026-06-15", "--json"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert r.returncode == 0 and json.loads(r.stdout)["llm"] == {"status": "not_configured"}
