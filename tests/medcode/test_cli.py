"""The CLI contract in GUIDE.md section 2, run as a user runs it (a subprocess), with the local
stand-ins up so that every PHI access lands in the real audit chain on DynamoDB Local."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="module")
def env(services, tmp_path_factory):
    e = dict(os.environ)
    e.update({
        "MEDCODE_DENSE_ENABLED": "false",  # the dense channel has its own tests; keep the CLI tests quick
        "MEDCODE_AUDIT_TABLE": f"medcode-audit-cli-{os.getpid()}",
        "MEDCODE_OUT_DIR": str(tmp_path_factory.mktemp("out")),
        "HF_HUB_OFFLINE": "1",
    })
    return e


def medcode(env, *args, check=None):
    proc = subprocess.run([sys.executable, "-m", "medcode.cli", *map(str, args)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    if check is not None:
        assert proc.returncode == check, proc.stderr[-2000:]
    return proc


def test_code_text_note_json_shape(env):
    p = medcode(env, "code", SAMPLES / "text" / "ortho_injury.txt", "--dos", "2026-06-15", "--json", check=0)
    out = json.loads(p.stdout)  # stdout holds the JSON alone
    assert set(out) >= {"encounter_id", "codes", "procedures", "em_level"}
    codes = out["codes"]
    assert codes and codes[0]["code"].startswith("S52.") and codes[0]["code"].endswith("A")
    text = (SAMPLES / "text" / "ortho_injury.txt").read_text()
    for c in codes:
        assert set(c) >= {"code", "system", "description", "confidence", "rank", "assertion", "evidence"}
        for ev in c["evidence"]:
            assert text[ev["start"] : ev["end"]] == ev["text"]
    assert out["em_level"]["code"].startswith("992")


def test_code_a_date_no_release_covers_says_how_to_give_one(env):
    p = medcode(env, "code", SAMPLES / "text" / "ortho_injury.txt", "--dos", "2031-03-01", "--json")
    assert p.returncode != 0 and not p.stdout
    assert "FY2031" in p.stderr and "--dos" in p.stderr


def test_code_hl7_mdm_t02(env):
    p = medcode(env, "code", SAMPLES / "hl7" / "MDM-T02-medcode-copd.hl7", "--json", check=0)
    codes = [c["code"] for c in json.loads(p.stdout)["codes"]]
    assert "J44.1" in codes and "I48.0" in codes


def test_code_fhir_document_reference(env):
    p = medcode(env, "code", SAMPLES / "fhir" / "ed_wrist_fracture_docref.json", "--format", "fhir", "--json", check=0)
    codes = [c["code"] for c in json.loads(p.stdout)["codes"]]
    assert codes[0] == "S52.531A"  # Colles' fracture, right radius, initial encounter, closed


def test_bad_input_is_a_clear_error_not_a_traceback(env, tmp_path):
    bad = tmp_path / "bad.hl7"
    bad.write_text("MSH|^~\\&|X|Y|\rPID|garbage")
    p = medcode(env, "code", bad, "--format", "hl7", "--json")
    assert p.returncode == 2 and p.stdout == ""
    assert "error:" in p.stderr and "Traceback" not in p.stderr
    p = medcode(env, "code", tmp_path / "missing.txt")
    assert p.returncode == 2 and "no such file" in p.stderr
    p = medcode(env, "code", bad, "--format", "pdf")
    assert p.returncode == 2 and "--format" in p.stderr


def test_eval_notes_and_predictions(env, tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    base = {"setting": "office", "specialty": "primary care", "patient": {"age": 60, "sex": "M"},
            "date_of_service": "2026-05-01", "place_of_service": "11", "payer": "medicare"}
    (cases / "C1.json").write_text(json.dumps({**base, "id": "C1",
        "note": "Assessment:\n1. Essential hypertension - controlled.\n2. No evidence of pneumonia.",
        "gold": {"icd10cm": ["I10"], "optional": [], "must_not_code": [{"code": "J18.9", "why": "negated"}],
                 "em_level": "99213", "procedures": []}}))
    (cases / "C2.json").write_text(json.dumps({**base, "id": "C2",
        "note": "A/P: Hypothyroidism, stable on levothyroxine 50 mcg.",
        "gold": {"icd10cm": ["E03.9"], "optional": [], "must_not_code": [], "em_level": "99213",
                 "procedures": []}}))
    preds = tmp_path / "preds.jsonl"
    p = medcode(env, "eval", "notes", "--cases", cases, "--json", "--predictions", preds, check=0)
    report = json.loads(p.stdout)
    for key in ("notes", "micro_precision", "micro_recall", "micro_f1", "primary_top1", "primary_top3",
                "must_not_code_traps", "must_not_code_violations", "em_level_accuracy", "notes_per_second"):
        assert key in report
    assert report["notes"] == 2 and report["must_not_code_traps"] == 1
    assert report["must_not_code_violations"] == 0 and report["primary_top1"] == 1.0
    lines = [json.loads(x) for x in preds.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["C1", "C2"] and lines[0]["codes"][0] == "I10"


def test_eval_assertion(env, tmp_path):
    tsv = tmp_path / "a.tsv"
    tsv.write_text("id\tconcept\tsentence\tnegation\ttemporality\texperiencer\n"
                   "1\tcough\tShe denies any cough.\tNegated\tRecent\tPatient\n"
                   "2\tstroke\tHe has a history of stroke.\tAffirmed\tHistorical\tPatient\n"
                   "3\tbreast cancer\tHer mother had breast cancer.\tAffirmed\tRecent\tFamily member\n")
    preds = tmp_path / "p.jsonl"
    out = json.loads(medcode(env, "eval", "assertion", "--file", tsv, "--json", "--predictions", preds,
                             check=0).stdout)
    assert out["sentences"] == 3
    assert out["negated"]["f1"] == 1.0 and out["historical"]["support"] == 1
    assert set(json.loads(preds.read_text().splitlines()[0])) == {
        "id", "negated", "historical", "hypothetical", "other_experiencer"}


def test_scrub_claim_build_validate_and_audit(env, tmp_path):
    enc = SAMPLES / "encounters" / "office_visit_diabetes_hypertension.json"
    p = medcode(env, "scrub", enc, "--json")
    findings = json.loads(p.stdout)
    assert isinstance(findings, list)
    assert all(set(f) >= {"rule_id", "severity", "message", "codes", "fix"} for f in findings)
    x12 = tmp_path / "c.x12"
    medcode(env, "claim", "build", enc, "--out", x12, check=0)
    assert x12.read_text().startswith("ISA*")
    medcode(env, "claim", "validate", x12, check=0)
    broken = tmp_path / "broken.x12"
    broken.write_text("\n".join(s for s in x12.read_text().split("~") if not s.strip().startswith("CLM")))
    assert medcode(env, "claim", "validate", broken).returncode == 1
    # every command above read or wrote PHI: the chain holds their events and verifies
    p = medcode(env, "audit", "verify", "--json", check=0)
    assert json.loads(p.stdout)["events_checked"] >= 3


def test_bad_encounter_json_names_the_field(env, tmp_path):
    bad = tmp_path / "e.json"
    bad.write_text(json.dumps({"encounter_id": "X", "date_of_service": "not-a-date"}))
    p = medcode(env, "scrub", bad, "--json")
    assert p.returncode == 2 and "date_of_service" in p.stderr


def test_demo_codes_every_sample_and_validates_claims(env, tmp_path):
    out = tmp_path / "demo"
    p = medcode(env, "demo", "--out", out, check=0)
    summary = json.loads((out / "summary.json").read_text())
    manifest = json.loads((SAMPLES / "manifest.json").read_text())
    assert len(summary) == len(manifest["encounters"])
    assert all(s["codes"] for s in summary), [s["source"] for s in summary if not s["codes"]]
    claims = [s for s in summary if s["claim_file"]]
    assert claims and (out / "claims" / "batch.x12").exists()
    for s in claims:
        medcode(env, "claim", "validate", s["claim_file"], check=0)
    assert "medcode demo" in p.stdout
