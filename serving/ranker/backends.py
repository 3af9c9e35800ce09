"""Where the ranker's scoring head runs: in this process, or on a Triton Inference Server.

Both backends take a batch of :class:`RankRequest` and return one ranking per request. Feature
extraction (which needs the ICD-10-CM reference data) always runs in-process; only the head moves.
That is the seam a learned scorer fills later: a torch cross-encoder is a :class:`ScoringHead`
(``(features, pairs) -> scores``) handed to :class:`InProcessBackend`, or a model in the Triton
repository behind :class:`TritonBackend`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from medcore.refdata.icd10cm import CodeSet
from medcore.refdata.releases import codeset_for, releases
from serving.ranker.fused import FusedRanker, Ranked
from serving.ranker.head import fused_head
from serving.retriever.hybrid import Candidate

__all__ = [
    "InProcessBackend",
    "RankRequest",
    "RankerBackend",
    "ScoringHead",
    "TritonBackend",
    "make_backend",
]


@dataclass(slots=True)
class RankRequest:
    """One mention's candidates to rank against the code set of ``release``."""

    release: str
    query: str
    candidates: list[Candidate]
    dense_on: bool = False


class ScoringHead(Protocol):
    """Scores for a feature matrix; ``pairs`` are the (query, matched text) of each row, for a
    cross-encoder that reads the texts themselves."""

    def __call__(self, features: np.ndarray, pairs: Sequence[tuple[str, str]]) -> np.ndarray: ...


def codeset_for_release(name: str) -> CodeSet:
    """The code set of a shipped release, by the name ``CodeSet.release`` carries (cached per process)."""
    for rel in releases():
        if rel.name == name:
            return codeset_for(rel.effective_from)
    raise KeyError(f"no shipped ICD-10-CM release named {name!r}")


def _fused(features: np.ndarray, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    return fused_head(features)


class RankerBackend(abc.ABC):
    """Ranks many requests at once (the Ray deployment hands it whole ``@serve.batch`` batches)."""

    name: str = "base"

    def __init__(
        self,
        codeset_loader: Callable[[str], CodeSet] | None = None,
        idf_loader: Callable[[str], dict[str, float]] | None = None,
    ):
        self._load = codeset_loader or codeset_for_release
        # the retriever's corpus IDF (FusedRanker weighs mention words by it); {} weighs them equally
        self._idf = idf_loader or (lambda release: {})
        self._rankers: dict[tuple[str, bool], FusedRanker] = {}

    def _ranker(self, release: str, dense_on: bool) -> FusedRanker:
        key = (release, dense_on)
        r = self._rankers.get(key)
        if r is None:
            r = self._rankers[key] = FusedRanker(self._load(release), dense_on=dense_on, idf=self._idf(release))
        return r

    def rank_batch(self, requests: Sequence[RankRequest]) -> list[list[Ranked]]:
        feats = [self._ranker(r.release, r.dense_on).features(r.query, r.candidates) for r in requests]
        sizes = [len(f.rows) for f in feats]
        if sum(sizes) == 0:
            return [[] for _ in requests]
        matrix = np.vstack([f.matrix for f in feats])
        pairs = [(req.query, row.matched_text) for req, f in zip(requests, feats, strict=True) for row in f.rows]
        scores = np.asarray(self._scores(matrix, pairs), dtype=np.float64).reshape(-1)
        if scores.shape[0] != matrix.shape[0]:
            raise RuntimeError(f"{self.name} head returned {scores.shape[0]} scores for {matrix.shape[0]} rows")
        out, at = [], 0
        for f, n in zip(feats, sizes, strict=True):
            out.append(FusedRanker.rank(f, scores=scores[at : at + n]))
            at += n
        return out

    @abc.abstractmethod
    def _scores(self, matrix: np.ndarray, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """One score per row of ``matrix``."""

    def healthy(self) -> bool:
        return True

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


class InProcessBackend(RankerBackend):
    """The head runs here: the fused formula by default, or any :class:`ScoringHead`."""

    name = "inprocess"

    def __init__(self, head: ScoringHead | None = None, codeset_loader: Callable[[str], CodeSet] | None = None,
                 idf_loader: Callable[[str], dict[str, float]] | None = None):
        super().__init__(codeset_loader, idf_loader)
        self.head = head or _fused

    def _scores(self, matrix: np.ndarray, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        return self.head(matrix, pairs)


class TritonBackend(RankerBackend):
    """The head runs on a Triton Inference Server, called over HTTP with ``tritonclient``.

    The model takes ``FEATURES`` (FP64, ``[-1, 5]``) and returns ``SCORES`` (FP64, ``[-1]``);
    ``serving/ranker/triton_server.py`` serves the fused head that way with pytriton.
    """

    name = "triton"

    def __init__(
        self,
        url: str = "127.0.0.1:8010",
        model: str = "fused_head",
        timeout_s: float = 10.0,
        codeset_loader: Callable[[str], CodeSet] | None = None,
        idf_loader: Callable[[str], dict[str, float]] | None = None,
    ):
        super().__init__(codeset_loader, idf_loader)
        import tritonclient.http as httpclient

        self._http = httpclient
        self.url = url.removeprefix("http://")
        self.model = model
        self.client = httpclient.InferenceServerClient(
            url=self.url, connection_timeout=timeout_s, network_timeout=timeout_s
        )

    def _scores(self, matrix: np.ndarray, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        x = np.ascontiguousarray(matrix, dtype=np.float64)
        inp = self._http.InferInput("FEATURES", list(x.shape), "FP64")
        inp.set_data_from_numpy(x)
        res = self.client.infer(self.model, [inp], outputs=[self._http.InferRequestedOutput("SCORES")])
        return res.as_numpy("SCORES")

    def healthy(self) -> bool:
        try:
            return bool(self.client.is_model_ready(self.model))
        except Exception:  # noqa: BLE001 - any transport error means not ready
            return False

    def close(self) -> None:
        self.client.close()


def make_backend(kind: str = "inprocess", idf_loader=None, **options) -> RankerBackend:
    """``inprocess`` or ``triton`` (options: ``url``, ``model``, ``timeout_s``)."""
    if kind == "inprocess":
        return InProcessBackend(idf_loader=idf_loader)
    if kind == "triton":
        return TritonBackend(idf_loader=idf_loader, **options)
    raise ValueError(f"unknown ranker backend {kind!r}; expected inprocess or triton")

