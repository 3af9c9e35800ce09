"""End-to-end coder behaviour over the full FY2026 code set (BM25 only, to keep the suite fast;
the dense path is exercised in test_dense.py)."""

from datetime import date

import pytest

from medcore.model import Assertion, Encounter, Note, Patient, Setting

NOTE = """OFFICE VISIT
HPI: 58 y/o M f/u DM2 and HTN. Denies chest pain.
FHx: father with colon cancer.
A/P:
1. Type 2 diabetes mellitus without complications - A1c 6.8%. No evidence of diabetic neuropathy.
2. Essential hypertension - controlled. Cont lisinopril 20 mg.
3. Probable community-acquired pneumonia - CXR pending.
"""


def enc(setting: Setting = Setting.office, text: str = NOTE) -> Encounter:
    return Encounter(
        encounter_id="T1", setting=setting, patient=Patient(age=58, sex="M"),
        date_of_service=date(2026, 5, 4), notes=[Note(text=text)],
    )


def test_codes_what_the_assessment_supports(coder):
    res = coder.code(enc())
    codes = [c.code for c in res.codes]
    assert codes[:2] == ["E11.9", "I10"]
    assert res.code_set == "FY2026-April" and not res.code_set_approximate


def test_negated_family_and_outpatient_uncertain_are_not_coded(coder):
    codes = {c.code for c in coder.code(enc()).codes}
    assert not codes & {"E11.40", "E11.42", "R07.9", "C18.9", "Z80.0"}
    assert not any(c.startswith("J18") for c in codes)  # "probable" pneumonia, outpatient (IV.H)


def test_inpatient_codes_uncertain_diagnoses(coder):
    codes = {c.code for c in coder.code(enc(Setting.inpatient)).codes}
    assert any(c.startswith("J18") for c in codes)  # inpatient: coded as if established (II.H)


def test_evidence_spans_index_the_original_note(coder):
    res = coder.code(enc())
    for c in res.codes:
        expected = Assertion.family if c.code.startswith(("Z80", "Z81", "Z82", "Z83", "Z84")) else Assertion.present
        assert c.evidence and c.assertion is expected
        for ev in c.evidence:
            assert NOTE[ev.start : ev.end] == ev.text
        assert 0 < c.confidence <= 1 and c.rank >= 1
    assert [c.rank for c in res.codes] == list(range(1, len(res.codes) + 1))


def test_em_level_is_reported(coder):
    em = coder.code(enc()).em_level
    assert em["code"] in {"99213", "99214", "99215"} and em["basis"] in {"mdm", "time"}


@pytest.mark.parametrize(("text", "sex", "expected"), [
    ("Adenocarcinoma of RUL lung, stage IVB, w/ mets to bone and brain.", "M", ["C34.11", "C79.51", "C79.31"]),
    ("Prostate cancer with metastases to bone.", "M", ["C61", "C79.51"]),
    ("Liver metastases.", "M", ["C78.7"]),
    # the patient's sex picks the female breast code, the note's "left" the side
    ("Malignant neoplasm of upper-outer quadrant of left breast.", "F", ["C50.412"]),
])
def test_neoplasms_through_the_neoplasm_table(coder, text, sex, expected):
    e = Encounter(encounter_id="N", setting=Setting.office, patient=Patient(age=66, sex=sex),
                  date_of_service=date(2026, 5, 4), notes=[Note(text=f"Assessment:\n1. {text}\n")])
    assert [c.code for c in coder.code(e).codes] == expected


def _radiology(impression: str) -> Encounter:
    text = ("XR CHEST PA AND LATERAL\n\nHISTORY: Acute cough. r/o pna.\n\nFINDINGS:\nLungs: see impression.\n\n"
            f"IMPRESSION:\n{impression}\n")
    return Encounter(encounter_id="R", setting=Setting.radiology, patient=Patient(age=50, sex="F"),
                     date_of_service=date(2026, 5, 4), notes=[Note(text=text)])


def test_unconfirmed_impression_codes_the_finding_and_the_ordering_symptom(coder):
    # IV.H/IV.K: "may represent pneumonia" is not coded; the certain finding and the reason for the study are
    codes = [c.code for c in coder.code(_radiology(
        "Patchy right lower lobe airspace opacity, which may represent pneumonia.")).codes]
    assert codes[:2] == ["R91.8", "R05.1"] and "J18.9" not in codes


def test_confirmed_impression_does_not_add_the_ordering_symptom(coder):
    codes = [c.code for c in coder.code(_radiology("Right lower lobe pneumonia.")).codes]
    assert codes == ["J18.9"]
