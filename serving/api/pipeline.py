"""The coder with its retriever and ranker elsewhere (Ray deployments, in production).

:class:`DistributedCoder` is :class:`serving.pipeline.coder.Coder` with two seams replaced: candidate
search goes to ``search`` and ranking to ``rank_many``. As soon as a search returns, every mention's
ranking request is sent at once, so one request's mentions reach the ranker together and
``@serve.batch`` sees them as one batch (with those of concurrent requests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from medcore.refdata.icd10cm import CodeSet
from serving.pipeline.coder import Coder
from serving.ranker.backends import RankRequest
from serving.ranker.fused import Ranked
from serving.retriever.hybrid import Candidate

SearchFn = Callable[[str, list[str], int], list[list[Candidate]]]
RankManyFn = Callable[[Sequence[RankRequest]], list[list[Ranked]]]


class _RemoteRetriever:
    def __init__(self, owner: DistributedCoder, release: str):
        self.owner, self.release = owner, release
        self.dense = True if owner.dense_on else None  # the coder only asks whether it is on
        self.idf: dict[str, float] = {}  # the remote ranker has the retriever's own IDF

    def search(self, queries: list[str], k: int = 50) -> list[list[Candidate]]:
        hits = self.owner.search_fn(self.release, queries, k)
        reqs = [RankRequest(self.release, q, h, self.owner.dense_on) for q, h in zip(queries, hits, strict=True)]
        ranked = self.owner.rank_many_fn(reqs) if reqs else []
        for h, r in zip(hits, ranked, strict=True):
            self.owner._ranked[id(h)] = (h, r)
        return hits


class _RemoteRanker:
    def __init__(self, owner: DistributedCoder, release: str):
        self.owner, self.release = owner, release

    def score(self, query: str, cands: list[Candidate]) -> list[Ranked]:
        hit = self.owner._ranked.get(id(cands))
        if hit is not None and hit[0] is cands:
            # copies: the coder may adjust a ranking (history routes) and it is cached per search
            return [replace(r) for r in hit[1]]
        return self.owner.rank_many_fn([RankRequest(self.release, query, cands, self.owner.dense_on)])[0]


class DistributedCoder(Coder):
    """A :class:`Coder` whose retrieval and ranking run behind ``search`` and ``rank_many``.

    Not thread-safe: use one instance per thread.

    Parameters
    ----------
    search : callable
        ``(release, queries, k) -> candidates per query``.
    rank_many : callable
        ``(rank requests) -> ranking per request``.
    dense_on : bool
        Whether the retriever behind ``search`` uses dense retrieval (the coder's thresholds depend on it).
    """

    def __init__(self, search: SearchFn, rank_many: RankManyFn, dense_on: bool, settings=None):
        super().__init__(settings=settings, dense=dense_on)
        self.search_fn, self.rank_many_fn, self.dense_on = search, rank_many, dense_on
        self._ranked: dict[int, tuple[list[Candidate], list[Ranked]]] = {}

    def retriever(self, cs: CodeSet):  # type: ignore[override]
        return _RemoteRetriever(self, cs.release)

    def code(self, enc):
        try:
            return super().code(enc)
        finally:
            self._ranked.clear()

    def _best(self, cs, ranker, enc, ni, m, query, route, cands):  # type: ignore[override]
        # Coder.code builds an in-process FusedRanker; rank remotely instead
        return Coder._best(cs, _RemoteRanker(self, cs.release), enc, ni, m, query, route, cands)
