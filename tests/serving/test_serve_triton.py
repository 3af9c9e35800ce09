"""The Triton ranker backend against a REAL Triton Inference Server (pytriton, CPU).

The server runs from ``.venv-triton`` (``make triton-venv``: pytriton pins protobuf 6.x, the main env
has protobuf 7 through Ray). Skipped, saying so, when that venv is missing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRITON_PY = ROOT / ".venv-triton" / "bin" / "python"
QUERIES = [
    "type 2 diabetes mellitus without complications",
    "community acquired pneumonia left lower lobe",
    "closed fracture of left distal radius",
    "essential hypertension",
    "other specified anxiety",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def triton_url():
    if not TRITON_PY.exists():
        pytest.skip("no .venv-triton: run `make triton-venv` (about 35 s) to test against a real Triton server")
    libdir = subprocess.run([str(TRITON_PY), "-c", "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    http, grpc, metrics = _free_port(), _free_port(), _free_port()
    env = os.environ | {"LD_LIBRARY_PATH": libdir, "PYTHONPATH": str(ROOT)}
    log = open(ROOT / "var" / "triton-test.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(TRITON_PY), "-m", "serving.ranker.triton_server", "--http-port", str(http), "--grpc-port", str(grpc),
         "--metrics-port", str(metrics)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(url=f"127.0.0.1:{http}")
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                if client.is_model_ready("fused_head"):
                    break
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Triton did not come up (see {log.name})")
            time.sleep(0.3)
        yield f"127.0.0.1:{http}"
    finally:
        client.close()
        # pytriton stops its tritonserver child on SIGINT; the whole group is ours (start_new_session)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()


@pytest.fixture(scope="module")
def requests_and_idf():
    from medcore.refdata.releases import codeset_for
    from medcore.settings import get_settings
    from serving.ranker.backends import RankRequest
    from serving.retriever.hybrid import HybridRetriever

    cs = codeset_for(date(2026, 5, 1))
    retriever = HybridRetriever.load_or_build(cs, get_settings().index_dir, dense=False)
    hits = retriever.search(QUERIES, k=50)
    return [RankRequest(cs.release, q, h) for q, h in zip(QUERIES, hits, strict=True)], retriever.idf


def test_triton_backend_ranks_exactly_like_in_process(triton_url, requests_and_idf):
    from serving.ranker.backends import InProcessBackend, TritonBackend

    reqs, idf = requests_and_idf
    local = InProcessBackend(idf_loader=lambda _: idf).rank_batch(reqs)
    backend = TritonBackend(triton_url, idf_loader=lambda _: idf)
    assert backend.healthy()
    remote = backend.rank_batch(reqs)
    backend.close()
    assert [[(r.code, r.score) for r in rows] for rows in remote] == [[(r.code, r.score) for r in rows] for rows in local]
    assert remote[0][0].code == "E11.9" and remote[3][0].code == "I10"


def test_in_process_backend_matches_the_fused_ranker(requests_and_idf):
    from medcore.refdata.releases import codeset_for
    from serving.ranker.backends import InProcessBackend
    from serving.ranker.fused import FusedRanker

    reqs, idf = requests_and_idf
    ranker = FusedRanker(codeset_for(date(2026, 5, 1)), idf=idf)
    batch = InProcessBackend(idf_loader=lambda _: idf).rank_batch(reqs)
    single = [ranker.score(r.query, r.candidates) for r in reqs]
    assert [[(r.code, r.score) for r in rows] for rows in batch] == [[(r.code, r.score) for r in rows] for rows in single]


def test_unreachable_triton_is_not_healthy():
    from serving.ranker.backends import TritonBackend

    assert not TritonBackend(f"127.0.0.1:{_free_port()}", timeout_s=1).healthy()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
