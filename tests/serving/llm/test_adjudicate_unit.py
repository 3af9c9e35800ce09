"""The LLM stage's logic without an engine: schema, validation, chunking, blending and every fallback.

A fake engine stands in for vLLM here (these tests run anywhere); test_engine_vllm.py runs the real one.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date

import pytest

from medcore.model import CodeSuggestion, Encounter, Evidence, Note, Patient, Setting
from serving.llm import (
    Adjudicator,
    EngineUnavailable,
    InvalidOutput,
    LlmConfig,
    LlmStage,
    LlmTimeout,
    apply_judgement,
    judgement_request,
    load_prompt,
    local_stage,
)
from serving.llm.adjudicate import _Candidate
from serving.llm.engine import Generation
from serving.llm.schema import adjudication_schema, max_output_tokens, parse_decisions
from serving.pipeline.coder import CodingResult

NOTE = ("HPI: 58 y/o with cough.\nAssessment:\n1. Type 2 diabetes mellitus without complications.\n"
        "2. Essential hypertension.\n")
CODES = ["E11.9", "I10", "S52.501A"]


def schema_codes(req) -> list[str]:
    return [item["properties"]["code"]["enum"][0] for item in req.json_schema["properties"]["decisions"]["prefixItems"]]


class FakeEngine:
    """Counts a token per 4 characters; answers with ``answer(codes) -> text``."""

    model = "fake-model"

    def __init__(self, answer, max_model_len: int = 4096):
        self.answer, self.max_model_len = answer, max_model_len
        self.requests: list = []

    def encode_prompt(self, text: str) -> list[int]:
        return [0] * (len(text) // 4 + 1)

    async def agenerate(self, requests, timeout_s):
        self.requests.extend(requests)
        return [Generation(self.answer(schema_codes(r)), "stop", len(r.prompt_ids), 12) for r in requests]

    def run(self, coro, timeout_s):
        return asyncio.run(coro)


def accept_all(codes, evidence=""):
    return json.dumps({"decisions": [{"code": c, "decision": "accept", "confidence": 90, "evidence": evidence}
                                     for c in codes]})


def config(**kw) -> LlmConfig:
    return LlmConfig(model_path="/nonexistent/fake-model", **kw)


def coded(codes=("E11.9", "I10"), review=()) -> tuple[Encounter, CodingResult]:
    enc = Encounter(encounter_id="U1", setting=Setting.office, patient=Patient(age=58, sex="M"),
                    date_of_service=date(2026, 5, 4), notes=[Note(text=NOTE)])
    sugg = []
    for i, code in enumerate(codes, start=1):
        start = NOTE.find("Type 2") if code == "E11.9" else NOTE.find("Essential")
        sugg.append(CodeSuggestion(code=code, description=f"desc {code}", confidence=0.7, rank=i,
                                   evidence=[Evidence(start=start, end=start + 10, text=NOTE[start:start + 10])]))
    return enc, CodingResult(encounter_id="U1", code_set="FY2026-April", codes=sugg, review=list(review))


# ---- schema and validation ---------------------------------------------------------------------
def test_schema_admits_each_candidate_once_in_order():
    s = adjudication_schema(CODES, 40)
    arr = s["properties"]["decisions"]
    assert [i["properties"]["code"]["enum"] for i in arr["prefixItems"]] == [[c] for c in CODES]
    assert arr["items"] is False and arr["minItems"] == arr["maxItems"] == 3
    pattern = arr["prefixItems"][0]["properties"]["evidence"]["pattern"]
    assert re.match(pattern, "DM2 (E11.9), stage 3a; BP 150/90")
    assert not re.match(pattern, 'a "quoted" word') and not re.match(pattern, "x" * 41)
    assert max_output_tokens(3, 40) > max_output_tokens(2, 40)


def test_valid_answer_parses():
    out = parse_decisions(accept_all(CODES, "Essential hypertension"), CODES)
    assert [d.code for d in out] == CODES and all(d.decision == "accept" for d in out)


@pytest.mark.parametrize("text, why", [
    ("not json", "not JSON"),
    ('{"decisions": [{"code": "E11.9"}]}', "schema"),
    (accept_all(["E11.9", "I10", "X99"]), "outside the candidate set"),
    (accept_all(["E11.9", "E11.9", "I10"]), "twice"),
    (accept_all(["E11.9"]), "1 of 3"),
    (json.dumps({"decisions": [{"code": c, "decision": "maybe", "confidence": 5, "evidence": ""} for c in CODES]}), "schema"),
    (json.dumps({"decisions": [{"code": c, "decision": "accept", "confidence": 101, "evidence": ""} for c in CODES]}), "schema"),
    ('{"decisions": [{"code": "E11.9", "decision": "acc', "not JSON"),  # truncated at max_tokens
])
def test_invalid_answers_are_refused(text, why):
    with pytest.raises(InvalidOutput, match=why):
        parse_decisions(text, CODES)


def test_prompt_files_are_versioned():
    p = load_prompt("adjudicate_v1")
    assert p.id == "adjudicate-v1"
    text = p.render(setting="office", note="NOTE", candidates="- E11.9: x")
    assert "NOTE" in text and "E11.9" in text and "$" not in text
    assert load_prompt("appeal_v1").id == "appeal-v1"
    with pytest.raises(FileNotFoundError):
        load_prompt("adjudicate_v0")


# ---- the adjudicator with a fake engine ---------------------------------------------------------
def test_evidence_quote_must_be_a_substring_of_the_note():
    enc, res = coded()

    def answer(codes):
        quotes = {"E11.9": "Type 2 diabetes mellitus", "I10": "hypertension that is not in the note"}
        return json.dumps({"decisions": [{"code": c, "decision": "accept", "confidence": 80, "evidence": quotes[c]}
                                         for c in codes]})

    j = Adjudicator(FakeEngine(answer), config()).judge(judgement_request(enc, res, 8))
    by = {d["code"]: d for d in j["decisions"]}
    ev = by["E11.9"]["evidence"]
    assert NOTE[ev["start"]:ev["end"]] == "Type 2 diabetes mellitus" and not by["E11.9"]["evidence_ignored"]
    assert by["I10"]["evidence"] is None and by["I10"]["evidence_ignored"]
    assert j["status"] == "ok" and j["prompt_version"] == "adjudicate-v1" and j["model"] == "fake-model"


def test_long_note_is_split_by_section_to_fit_the_context():
    filler = "Patient tolerated the visit well and all questions were answered in detail today. " * 25
    note = ("Assessment:\nType 2 diabetes mellitus without complications. " + filler
            + "\nExam:\n" + filler * 3
            + "\nImpression:\nEssential hypertension. " + filler
            + "\nDx:\nClosed fracture of distal radius. " + filler + "\n")
    cands = [
        {"code": c, "description": c, "confidence": 0.8, "note_index": 0, "start": note.find(t), "end": note.find(t) + 10}
        for c, t in (("E11.9", "Type 2"), ("I10", "Essential"), ("S52.501A", "Closed fracture"))
    ]
    eng = FakeEngine(accept_all, max_model_len=1500)
    adj = Adjudicator(eng, config(max_model_len=1500))
    assert len(eng.encode_prompt(note)) > 1500  # the whole note cannot fit
    j = adj.judge({"notes": [note], "setting": "office", "candidates": cands})
    assert j["requests"] >= 2 and j["status"] == "ok" and not j["too_long"]
    assert sorted(d["code"] for d in j["decisions"]) == sorted(CODES)
    for r in eng.requests:
        assert len(r.prompt_ids) + r.max_tokens <= 1500
    # each code went with the section that holds its evidence; the exam section went nowhere
    assert sorted(c for r in eng.requests for c in schema_codes(r)) == sorted(CODES)
    plan, _ = adj.plan([note], [_Candidate(**c)
                                for c in cands], "office")
    texts = [chunk.text(note) for chunk, _ in plan]
    assert all("Exam:" not in t for t in texts)
    assert any("Type 2 diabetes" in t for t in texts) and any("Closed fracture" in t for t in texts)


def test_a_code_that_fits_nowhere_is_left_to_the_ranker():
    eng = FakeEngine(accept_all, max_model_len=256)
    cands = [{"code": "E11.9", "description": "d" * 2000, "confidence": 0.8, "note_index": 0, "start": 0, "end": 5}]
    j = Adjudicator(eng, config(max_model_len=256)).judge({"notes": ["Type 2 diabetes"], "setting": "office",
                                                            "candidates": cands})
    assert j["too_long"] == ["E11.9"] and j["unjudged"] == ["E11.9"] and not eng.requests


def test_invalid_answers_leave_the_ranker_result_marked():
    enc, res = coded()
    adj = Adjudicator(FakeEngine(lambda codes: '{"decisions": []}'), config())
    stage = LlmStage(adj.judge, model="fake-model")
    out = stage.apply(enc, res, accept_threshold=0.8)
    assert out.llm["status"] == "invalid_output" and out.llm["model"] == "fake-model"
    assert [c.code for c in out.codes] == ["E11.9", "I10"] and [c.confidence for c in out.codes] == [0.7, 0.7]


# ---- blending ------------------------------------------------------------------------------------
def test_reject_removes_accept_blends_and_ranks_renumber():
    enc, res = coded(review=["I10"])
    judgement = {"status": "ok", "model": "m", "prompt_version": "adjudicate-v1", "decisions": [
        {"code": "E11.9", "decision": "reject", "llm_confidence": 0.9, "evidence": None, "evidence_ignored": False},
        {"code": "I10", "decision": "accept", "llm_confidence": 1.0, "evidence": None, "evidence_ignored": False},
    ]}
    out = apply_judgement(res, judgement, weight=0.5, accept_threshold=0.8)
    assert [(c.code, c.rank, c.confidence) for c in out.codes] == [("I10", 1, 0.85)]
    assert out.review == [] and out.llm["rejected"] == ["E11.9"] and out.llm["accepted"] == ["I10"]
    assert [c.code for c in res.codes] == ["E11.9", "I10"]  # the input is not changed


def test_accepted_code_below_threshold_goes_to_review():
    enc, res = coded()
    judgement = {"status": "ok", "decisions": [
        {"code": "E11.9", "decision": "accept", "llm_confidence": 0.1, "evidence": None, "evidence_ignored": False}]}
    out = apply_judgement(res, judgement, weight=0.5, accept_threshold=0.8)
    assert out.codes[0].confidence == 0.4 and out.review == ["E11.9"]
    assert out.codes[1].confidence == 0.7  # unjudged: the ranker's confidence


# ---- fallbacks -------------------------------------------------------------------------------------
def test_not_configured():
    enc, res = coded()
    stage, engine = local_stage(None)
    assert engine is None
    out = stage.apply(enc, res, 0.8)
    assert out.llm == {"status": "not_configured"} and len(out.codes) == 2
    assert CodingResult(encounter_id="x", code_set="y").llm == {"status": "not_configured"}


def test_bad_model_path_falls_back_with_the_reason(tmp_path):
    enc, res = coded()
    for bad in (tmp_path / "missing", tmp_path):  # no folder; a folder without config.json
        stage, engine = local_stage(LlmConfig(model_path=bad))
        assert engine is None
        out = stage.apply(enc, res, 0.8)
        assert out.llm["status"] == "error" and str(bad) in out.llm["reason"]
        assert [c.code for c in out.codes] == ["E11.9", "I10"]


@pytest.mark.parametrize("exc, status", [
    (LlmTimeout("slow"), "timeout"), (TimeoutError(), "timeout"), (EngineUnavailable("dead"), "error"),
    (ConnectionError("gone"), "error"), (InvalidOutput("bad"), "invalid_output"),
])
def test_judge_failures_fall_back(exc, status):
    enc, res = coded()

    def judge(payload):
        raise exc

    out = LlmStage(judge, model="m").apply(enc, res, 0.8)
    assert out.llm["status"] == status and out.llm["model"] == "m" and out.llm["prompt_version"] == "adjudicate-v1"
    assert [c.code for c in out.codes] == ["E11.9", "I10"] and [c.confidence for c in out.codes] == [0.7, 0.7]


def test_no_candidates_no_call():
    enc, res = coded(codes=())
    calls = []
    out = LlmStage(lambda p: calls.append(p) or {}, model="m").apply(enc, res, 0.8)
    assert out.llm["status"] == "no_candidates" and not calls


def test_top_k_limits_the_codes_sent():
    enc, res = coded()
    sent = []
    LlmStage(lambda p: sent.append(p) or {"status": "ok", "decisions": []}, model="m", top_k=1).apply(enc, res, 0.8)
    assert [c["code"] for c in sent[0]["candidates"]] == ["E11.9"]
    assert sent[0]["notes"] == [NOTE] and sent[0]["setting"] == "office"


def test_a_remote_error_answer_is_passed_on_with_its_reason():
    # what the Serve deployment answers when its model never loaded
    enc, res = coded()
    out = LlmStage(lambda p: {"status": "error", "reason": "LLM model path /m is not a folder", "model": "m"},
                   model="m").apply(enc, res, 0.8)
    assert out.llm["status"] == "error" and out.llm["reason"].endswith("is not a folder")
    assert [c.code for c in out.codes] == ["E11.9", "I10"]
