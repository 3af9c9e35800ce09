"""The coder with the cross-encoder ranker: reranking mechanics (a stub scorer) and the fallback."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from medcore.model import Encounter, Note, Patient, Setting
from medcore.refdata.releases import latest_codeset
from medcore.settings import Settings
from serving.pipeline.coder import Coder
from serving.ranker.cross import Calibration, CrossScorer
from serving.ranker.fused import FusedRanker
from serving.ranker.rerank import CrossRanker, RerankRequest
from serving.retriever.hybrid import Candidate

NOTE = """A/P:
1. Type 2 diabetes mellitus without complications - A1c 6.8%.
2. Essential hypertension - controlled.
"""


class StubScorer(CrossScorer):
    """Likes one code; no model."""

    def __init__(self, favourite: str):
        super().__init__(model=None, tokenizer=None, calibration=Calibration(a=1.0, b=0.0, c=0.0))
        self.favourite = favourite
        self.seen: list[tuple[str, str]] = []

    def logits(self, pairs):
        self.seen.extend(pairs)
        return np.array([4.0 if self.favourite in doc else -4.0 for _, doc in pairs])


@pytest.fixture(scope="module")
def cs():
    return latest_codeset()


def cands(*codes: str) -> list[Candidate]:
    return [Candidate(c, 0.0, 1.0, 1.0, 0.5, "") for c in codes]


def test_cross_ranker_reorders_the_shortlist_by_calibrated_confidence(cs):
    scorer = StubScorer("diabetic chronic kidney disease")
    ranker = CrossRanker(cs, FusedRanker(cs), scorer, top_k=3)
    c = cands("E11.9", "E11.22", "E11.21", "I10")
    ranker.prepare([RerankRequest("type 2 diabetes with chronic kidney disease", c)])
    ranked = ranker.score("type 2 diabetes with chronic kidney disease", c)
    assert ranked[0].code == "E11.22"
    assert 0.9 < ranked[0].score <= 1.0 and all(0 <= r.score < 0.1 for r in ranked[1:])
    assert len(ranked) <= 3 and len(scorer.seen) <= 3  # only the shortlist is read


def test_with_a_margin_it_only_breaks_near_ties_and_the_fused_score_decides(cs):
    fused = FusedRanker(cs)
    query = "type 2 diabetes mellitus with diabetic chronic kidney disease"
    c = cands("E11.9", "E11.22", "I10")
    before = {r.code: r.score for r in fused.score(query, c)}
    near = [k for k, v in before.items() if v >= max(before.values()) - 0.1]
    ranker = CrossRanker(cs, fused, StubScorer("Essential"), top_k=8, margin=0.1)  # likes I10
    ranker.prepare([RerankRequest(query, c)])
    ranked = ranker.score(query, c)
    assert {r.code for r in ranked} == set(near)  # far-behind candidates are not offered
    assert all(r.score == before[r.code] for r in ranked)  # the fused score still decides
    if "I10" not in near:
        assert ranked[0].code != "I10"


def test_gates_and_routes_limit_what_the_cross_encoder_reads(cs):
    scorer = StubScorer("hypertension")
    ranker = CrossRanker(cs, FusedRanker(cs), scorer, top_k=8)
    c = cands("I10", "Z86.79", "Z87.891")
    ranker.prepare([RerankRequest("history of hypertension", c, eligible=lambda r: True, route=("Z86", "Z87")),
                    RerankRequest("hypertension", cands("I10"), eligible=lambda r: False)])
    assert all(r.code.startswith(("Z86", "Z87")) for r in ranker.score("history of hypertension", c))
    assert {doc for _, doc in scorer.seen} and all("Essential" not in doc for _, doc in scorer.seen)


def _enc(text: str = NOTE) -> Encounter:
    return Encounter(encounter_id="R1", setting=Setting.office, patient=Patient(age=60, sex="F"),
                     date_of_service=date(2026, 5, 4), notes=[Note(text=text)])


def test_missing_artifact_falls_back_to_the_fused_ranker_and_says_so(tmp_path, caplog):
    fused = Coder(Settings(ranker="fused"), dense=False).code(_enc())
    coder = Coder(Settings(ranker="cross", ranker_artifact=tmp_path / "missing"), dense=False)
    with caplog.at_level("WARNING"):
        res = coder.code(_enc())
    assert res.ranker.startswith("fused (cross-encoder unavailable")
    assert "cross-encoder ranker unavailable" in caplog.text
    assert [c.code for c in res.codes] == [c.code for c in fused.codes]
    assert fused.ranker == "fused"


def test_coder_with_a_stub_cross_encoder_keeps_confidence_in_range(monkeypatch):
    coder = Coder(Settings(ranker="cross"), dense=False)
    monkeypatch.setattr(coder, "cross_scorer", lambda: StubScorer("hypertension"))
    coder.ranker_status = "cross"
    res = coder.code(_enc())
    assert res.ranker == "cross"
    codes = [c.code for c in res.codes]
    assert "I10" in codes  # the stub likes it
    assert all(0.0 <= c.confidence <= 1.0 for c in res.codes)


def test_the_distributed_coder_says_it_ranks_with_the_fused_head(cs):
    from serving.api.pipeline import DistributedCoder

    coder = DistributedCoder(lambda release, queries, k: [[] for _ in queries], lambda reqs: [[] for _ in reqs],
                             dense_on=False, settings=Settings(ranker="cross"))
    assert coder._cross_ranker(cs, FusedRanker(cs)) is None
    assert coder.ranker_status.startswith("fused (")
