"""The Ray Serve adapter: deployments composed through handles, plus the FastAPI ingress.

``Ingress`` (HTTP, keys, limits, metering, audit, parsing and the coder's NLP) → ``Retriever``
(BM25 + FAISS, on GPU when faiss sees one) and ``Ranker`` (``@serve.batch`` over a pluggable
backend: in-process or Triton), then, when a model is configured, ``LLM`` (one vLLM engine whose
continuous batching serves every Ingress replica; ranker-only results, marked, when it is down or
slow). Everything here is wiring; the logic lives in ``serving.api``, ``serving.pipeline``,
``serving.retriever``, ``serving.ranker`` and ``serving.llm``.

``import_path: serving.app:build_app`` in ``serving/serve_config.yaml``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
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


@serve.deployment(name="LLM", max_ongoing_requests=64, ray_actor_options={"num_cpus": 1},
                  health_check_timeout_s=60, graceful_shutdown_timeout_s=30)
class LLM:
    """One vLLM engine (``AsyncLLM``): concurrent calls from every Ingress replica share its batches.

    A model that does not load leaves the replica up and answering ``status: error`` (the coder then
    returns the ranker's result, marked), so a bad model path never takes the coding API down.
    """

    def __init__(self, llm: dict):
        from serving.llm import Adjudicator, LlmConfig, LlmError, VllmEngine
        from serving.llm.appeal import AppealDrafter

        self.config = LlmConfig.model_validate(llm)
        self.engine = self.adjudicator = self.drafter = None
        self.error: str | None = None
        try:
            self.engine = VllmEngine(self.config)
        except LlmError as exc:
            self.error = str(exc)
            log.warning("LLM deployment without an engine: %s", exc)
            return
        self.adjudicator = Adjudicator(self.engine, self.config)
        self.drafter = AppealDrafter(self.engine, self.config)

    def _down(self) -> dict:
        return {"status": "error", "reason": self.error or "engine not running", "model": self.config.model_path.name}

    async def adjudicate(self, payload: dict) -> dict:
        from serving.llm import LlmError

        if self.engine is None:
            return self._down()
        try:
            return await self.engine.aforeign(self.adjudicator.ajudge(payload))
        except LlmError as exc:
            return {"status": exc.status, "reason": str(exc), "model": self.engine.model}

    async def draft_appeal(self, payload: dict) -> dict:
        from serving.llm import LlmError

        if self.engine is None:
            return self._down()
        try:
            return await self.engine.aforeign(self.drafter.adraft(payload))
        except LlmError as exc:
            return {"status": exc.status, "reason": str(exc), "model": self.engine.model}

    def info(self) -> dict[str, Any]:
        from serving.llm.prompts import load_prompt

        return {"model": self.config.model_path.name, "device": getattr(self.engine, "device", None),
                "prompt_version": load_prompt("adjudicate_v1").id, "engine": self.engine is not None,
                "max_model_len": self.config.max_model_len, "error": self.error}

    def ready(self) -> bool:
        return self.engine is not None and self.engine.healthy()

    def check_health(self) -> None:
        # an engine that died is replaced by restarting the replica; a model that never loaded is not
        # (restarts would not fix a bad path, and the coder already falls back)
        if self.engine is not None and not self.engine.healthy():
            raise RuntimeError("the vLLM engine died")

    def __del__(self):
        if getattr(self, "engine", None) is not None:
            self.engine.shutdown()


class _RayCodingService:
    """Runs the coder's NLP in this replica's threads; retrieval and ranking go through handles."""

    def __init__(self, retriever: DeploymentHandle, ranker: DeploymentHandle, threads: int,
                 llm: DeploymentHandle | None = None, llm_config: dict | None = None):
        self.retriever, self.ranker = retriever, ranker
        self.llm, self.llm_config = llm, llm_config
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
            coder.llm = self._llm_stage()
        return [coder.code(e) for e in encounters]

    async def code(self, encounters: list[Encounter]) -> list[CodingResult]:
        if self.dense_on is None:
            self.dense_on = await self.retriever.dense_on.remote()
        return await asyncio.get_running_loop().run_in_executor(self.pool, self._code, encounters)

    def _llm_stage(self):
        from serving.llm import LlmStage

        if self.llm is None or self.llm_config is None:
            return None  # not configured: results say llm.status not_configured
        timeout = float(self.llm_config["timeout_s"])

        def judge(payload: dict) -> dict:
            # the replica enforces the timeout itself (and aborts); this margin covers the hop
            return self.llm.adjudicate.remote(payload).result(timeout_s=timeout + 5.0)

        return LlmStage(judge, model=Path(self.llm_config["model_path"]).name, timeout_s=timeout,
                        top_k=int(self.llm_config["top_k"]), weight=float(self.llm_config["weight"]))

    async def ready(self) -> dict[str, bool]:
        r, k = await asyncio.gather(self.retriever.ready.remote(), self.ranker.ready.remote())
        # the LLM is optional (a down LLM means ranker-only results, not a down API): reported in stats
        return {"retriever": bool(r), "ranker": bool(k)}

    async def stats(self) -> dict[str, Any]:
        stats = await self.ranker.stats.remote()
        if self.llm is not None:
            try:
                stats = {**stats, "llm": await asyncio.wait_for(self.llm.info.remote(), timeout=5)}
            except Exception:  # noqa: BLE001 - operators see it is unreachable
                stats = {**stats, "llm": None}
        return stats


@serve.deployment(name="Ingress")
@serve.ingress()
class Ingress:
    """The HTTP entry point (FastAPI): ``/v1/code``, ``/v1/code:batch``, ``/v1/usage``, ``/healthz``, ``/readyz``."""

    def __init__(self, retriever: DeploymentHandle, ranker: DeploymentHandle, api_config: dict,
                 llm: DeploymentHandle | None = None, llm_config: dict | None = None):
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
            service=_RayCodingService(retriever, ranker, config.coder_threads, llm, llm_config),
        )

    def __serve_build_asgi_app__(self):
        # built in the replica: the FastAPI app itself does not pickle
        return self.api


def build(args: dict | AppArgs | None = None, options: dict[str, dict] | None = None) -> serve.Application:
    """The application, with per-deployment ``.options()`` (the local runner passes the YAML's)."""
    a = args if isinstance(args, AppArgs) else AppArgs.model_validate(args or {})
    opts = options or {}
    llm_config = a.llm.resolved()  # None: no model configured (results say llm.status not_configured)
    retriever = Retriever.options(**opts.get("Retriever", {})).bind(dense=a.retriever.dense, preload=a.retriever.preload)
    backend_options = (
        {"url": a.ranker.triton_url, "model": a.ranker.triton_model} if a.ranker.backend == "triton" else {}
    )
    ranker = Ranker.options(**opts.get("Ranker", {})).bind(
        retriever, backend=a.ranker.backend, backend_options=backend_options,
        max_batch_size=a.ranker.max_batch_size, batch_wait_timeout_s=a.ranker.batch_wait_timeout_s,
    )
    llm = LLM.options(**opts.get("LLM", {})).bind(llm_config) if llm_config is not None else None
    return Ingress.options(**opts.get("Ingress", {})).bind(retriever, ranker, a.api.model_dump(mode="json"),
                                                           llm, llm_config)


def build_app(args: dict) -> serve.Application:
    """Ray's application builder (``serve run``/KubeRay call it with ``args`` from the Serve config)."""
    return build(args)
