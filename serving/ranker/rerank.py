"""The cross-encoder as a ranker: the fused ranker shortlists, the cross-encoder decides.

:class:`CrossRanker` has the fused ranker's ``score(query, candidates)`` interface, so the coder's
guideline logic (history routes, 7th characters, Excludes1, thresholds) runs unchanged on its output.
Before a batch of mentions is ranked, :meth:`CrossRanker.prepare` scores every mention's shortlist in
one forward pass (the cost is per pair, so batching a note's pairs together is what keeps it fast).

A shortlist holds the fused ranker's best ``top_k`` candidates that pass the coder's non-score gates
(the ``eligible`` callable: coverage of the mention, semantic floor): a candidate that could never be
coded is not worth a forward pass. Each gets ``score`` = the calibrated probability that it is the
right code (:class:`serving.ranker.cross.Calibration`), in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from medcore.refdata.icd10cm import CodeSet
from serving.ranker.cross import CrossScorer, doc_text
from serving.ranker.fused import FusedRanker, Ranked
from serving.retriever.hybrid import Candidate

__all__ = ["CrossRanker", "RerankRequest"]


@dataclass(slots=True)
class RerankRequest:
    query: str
    candidates: list[Candidate]
    eligible: Callable[[Ranked], bool] | None = None
    route: tuple[str, ...] | None = None  # only codes under these prefixes (history and family routes)


class CrossRanker:
    """Parameters
    ----------
    cs : CodeSet
    fused : FusedRanker
        Scores the features the shortlist is cut by, and the fused score the calibration also reads.
    scorer : CrossScorer
    top_k : int
        Candidates per mention the cross-encoder reads.
    margin : float, optional
        When set, the cross-encoder only reorders the candidates within ``margin`` of the best fused
        score, and each keeps its fused score (so the coder's thresholds decide as with the fused
        ranker). When None, it reorders the whole shortlist and the calibrated probability becomes
        the score the thresholds read.
    """

    name = "cross"

    def __init__(self, cs: CodeSet, fused: FusedRanker, scorer: CrossScorer, top_k: int = 8,
                 margin: float | None = None):
        self.cs, self.fused, self.scorer, self.top_k = cs, fused, scorer, top_k
        self.margin = margin
        self._ranked: dict[int, tuple[list[Candidate], list[Ranked]]] = {}
        self.pairs_scored = 0

    def prepare(self, requests: Sequence[RerankRequest]) -> None:
        """Rank every request now, in one cross-encoder pass; :meth:`score` then returns the results."""
        shortlists: list[list[Ranked]] = []
        for req in requests:
            ranked = self.fused.score(req.query, req.candidates)
            if req.route is not None:
                ranked = [r for r in ranked if r.code.startswith(req.route)]
            ok = req.eligible or (lambda r: True)
            sl = [r for r in ranked if ok(r)][: self.top_k]
            if self.margin is not None and sl:
                sl = [r for r in sl if r.score >= sl[0].score - self.margin]
            shortlists.append(sl)
        pairs = [(req.query, doc_text(self.cs, r.code)) for req, sl in zip(requests, shortlists, strict=True) for r in sl]
        self.pairs_scored += len(pairs)
        logits = self.scorer.logits(pairs)
        fused = np.array([r.score for sl in shortlists for r in sl], dtype=np.float64)
        conf = self.scorer.confidence(logits, fused) if len(pairs) else fused
        at = 0
        for req, sl in zip(requests, shortlists, strict=True):
            keyed = []
            for r in sl:
                keyed.append((-float(conf[at]), -r.score, r.code, r))
                at += 1
            keyed.sort(key=lambda t: t[:3])
            out = []
            for neg_conf, _, _, r in keyed:
                if self.margin is None:
                    r.score = -neg_conf
                out.append(r)
            self._ranked[id(req.candidates)] = (req.candidates, out)

    def score(self, query: str, cands: list[Candidate]) -> list[Ranked]:
        hit = self._ranked.get(id(cands))
        if hit is None or hit[0] is not cands:
            self.prepare([RerankRequest(query, cands)])
            hit = self._ranked[id(cands)]
        # copies: the coder may adjust a ranking (history routes)
        return [replace(r) for r in hit[1]]

    def clear(self) -> None:
        self._ranked.clear()
