"""The Ray Serve adapter: three deployments composed through handles, plus the FastAPI ingress.

``Ingress`` (HTTP, keys, limits, metering, audit, parsing and the coder's NLP) → ``Retriever``
(BM25 + FAISS, on GPU when faiss sees one) and ``Ranker`` (``@serve.batch`` over a pluggable
backend: in-process or Triton). Everything here is wiring; the logic lives in ``serving.api``,
``serving.pipeline``, ``serving.retriever`` and ``serving.ranker``.

``import_path: serving.app:build_app`` in ``serving/serve_config.yaml``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle

from medcore.model import Encounter
from medcore.refdata.releases import latest_codeset
from medcore.settings import get_settings
from serving.api.config import ApiConfig, AppArgs
from serving.api.http import ApiContext, create_app
from serving.api.keys import KeyStore
from serving.api.metering import UsageMeter
from serving.api.pipeline import DistributedCoder
from serving.pipeline.coder import CodingResult
from serving.ranker.backends import RankRequest, codeset_for_release, make_backend
from serving.ranker.fused import Ranked
from serving.retriever.hybrid import Candidate, HybridRetriever

# a deployment call that has not answered by then fails the request instead of hanging it
HANDLE_TIMEOUT_S = 60.0

log = logging.getLogger("medcode.serve")
APP_NAME = "medcode"


@serve.deployment(name="Retriever")
class Retriever:
    """Candidate search; the FAISS index sits on the GPU when this faiss build sees one."""

    def __init__(self, dense: bool | None = None, preload: bool = True):
        self.settings = get_settings()
        self.dense = self.settings.dense_enabled if dense is None else dense
        self._by_release: dict[str, HybridRetriever] = {}
        self._lock = threading.Lock()
        if preload:
            self._get(latest_codeset().release)

    def _get(self, release: str) -> HybridRetriever:
        with self._lock:
            r = self._by_release.get(release)
            if r is None:
                cs = codeset_for_release(release)
                r = self._by_release[release] = HybridRetriever.load_or_build(
                    cs, self.settings.index_dir, dense=self.dense
                )
            return r

    def search(self, release: str, queries: list[str], k: int) -> list[list[Candidate]]:
        return self._get(release).search(queries, k=k)

    def dense_on(self) -> bool:
        return self.dense

    def idf(self, release: str) -> dict[str, float]:
        """The corpus IDF the ranker weighs mention words by."""
        return self._get(release).idf

    def device(self) -> str:
        idx = next((r.dense for r in self._by_release.values() if r.dense is not None), None)
        return "gpu" if idx is not None and hasattr(idx.index, "getDevice") else "cpu"

    def ready(self) -> bool:
        return bool(self._by_release)

    def check_health(self) -> None:
        if not self._by_release:
            raise RuntimeError("retrieval index not loaded")


@serve.deployment(name="Ranker")
class Ranker:
    """Ranks candidates; concurrent calls are gathered by ``@serve.batch`` into one backend call."""

    def __init__(self, retriever: DeploymentHandle, backend: str = "inprocess", backend_options: dict | None = None,
                 max_batch_size: int = 32, batch_wait_timeout_s: float = 0.005):
        # called from the backend's worker thread, never from the event loop
        self.backend = make_backend(
            backend, idf_loader=lambda release: retriever.idf.remote(release).result(timeout_s=HANDLE_TIMEOUT_S), **(backend_options or {})
        )
        self.rank.set_max_batch_size(max_batch_size)
        self.rank.set_batch_wait_timeout_s(batch_wait_timeout_s)
        self._batches = 0
        self._requests = 0
        self._largest = 0

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.005)
    async def rank(self, requests: list[RankRequest]) -> list[list[Ranked]]:
        self._batches += 1
        self._requests += len(requests)
        self._largest = max(self._largest, len(requests))
        return await asyncio.get_running_loop().run_in_executor(None, self.backend.rank_batch, requests)

    def stats(self) -> dict[str, Any]:
        return {"backend": self.backend.name, "batches": self._batches, "requests": self._requests,
                "largest_batch": self._largest}

    def ready(self) -> bool:
        return self.backend.healthy()

    def check_health(self) -> None:
        if not self.backend.healthy():
            raise RuntimeError(f"ranker backend {self.backend.name} is not ready")


class _RayCodingService:
    """Runs the coder's NLP in this replica's threads; retrieval and ranking go through handles."""

    def __init__(self, retriever: DeploymentHandle, ranker: DeploymentHandle, threads: int):
        self.retriever, self.ranker = retriever, ranker
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="medcode-coder")
        self.local = threading.local()
        self.dense_on: bool | None = None

    def _search(self, release: str, queries: list[str], k: int) -> list[list[Candidate]]:
        return self.retriever.search.remote(release, queries, k).result(timeout_s=HANDLE_TIMEOUT_S)

    def _rank_many(self, requests: Sequence[RankRequest]) -> list[list[Ranked]]:
        pending = [self.ranker.rank.remote(r) for r in requests]
        return [p.result(timeout_s=HANDLE_TIMEOUT_S) for p in pending]

    def _code(self, encounters: list[Encounter]) -> list[CodingResult]:
        coder = getattr(self.local, "coder", None)
        if coder is None:
            coder = self.local.coder = DistributedCoder(self._search, self._rank_many, bool(self.dense_on))
        return [coder.code(e) for e in encounters]

    async def code(self, encounters: list[Encounter]) -> list[CodingResult]:
        if self.dense_on is None:
            self.dense_on = await self.retriever.dense_on.remote()
        return await asyncio.get_running_loop().run_in_executor(self.pool, self._code, encounters)

    async def ready(self) -> dict[str, bool]:
        r, k = await asyncio.gather(self.retriever.ready.remote(), self.ranker.ready.remote())
        return {"retriever": bool(r), "ranker": bool(k)}

    async def stats(self) -> dict[str, Any]:
        return await self.ranker.stats.remote()


@serve.deployment(name="Ingress")
@serve.ingress()
class Ingress:
    """The HTTP entry point (FastAPI): ``/v1/code``, ``/v1/code:batch``, ``/v1/usage``, ``/healthz``, ``/readyz``."""

    def __init__(self, retriever: DeploymentHandle, ranker: DeploymentHandle, api_config: dict):
        from audit import AuditLog

        config = ApiConfig.model_validate(api_config)
        keys, meter = KeyStore(cache_s=config.key_cache_s), UsageMeter()
        keys.ensure_table()
        meter.ensure_table()
        audit = AuditLog()
        audit.ensure_table()
        self.api = create_app(set_request_id_header=False)  # Ray's proxy adds x-request-id itself
        self.api.state.ctx = ApiContext(
            config=config, keys=keys, meter=meter, audit=audit,
            service=_RayCodingService(retriever, ranker, config.coder_threads),
        )

    def __serve_build_asgi_app__(self):
        # built in the replica: the FastAPI app itself does not pickle
        return self.api


def build(args: dict | AppArgs | None = None, options: dict[str, dict] | None = None) -> serve.Application:
    """The application, with per-deployment ``.options()`` (the local runner passes the YAML's)."""
    a = args if isinstance(args, AppArgs) else AppArgs.model_validate(args or {})
    opts = options or {}
    if a.llm.enabled:
        # OPTIONAL: the LLM verification deployment (serving/llm/) is built by another issue
        raise NotImplementedError("args.llm.enabled: the LLM deployment does not exist yet (serving/llm/)")
    retriever = Retriever.options(**opts.get("Retriever", {})).bind(dense=a.retriever.dense, preload=a.retriever.preload)
    backend_options = (
        {"url": a.ranker.triton_url, "model": a.ranker.triton_model} if a.ranker.backend == "triton" else {}
    )
    ranker = Ranker.options(**opts.get("Ranker", {})).bind(
        retriever, backend=a.ranker.backend, backend_options=backend_options,
        max_batch_size=a.ranker.max_batch_size, batch_wait_timeout_s=a.ranker.batch_wait_timeout_s,
    )
    return Ingress.options(**opts.get("Ingress", {})).bind(retriever, ranker, a.api.model_dump(mode="json"))


def build_app(args: dict) -> serve.Application:
    """Ray's application builder (``serve run``/KubeRay call it with ``args`` from the Serve config)."""
    return build(args)
