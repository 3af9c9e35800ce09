"""Combination codes (I.A.15 "with", I.C.9.a hypertension) and "use additional code" pairs."""

from datetime import date

import pytest

from medcore.model import Encounter, Note, Patient, Setting
from serving.pipeline.coder import Coder
from serving.pipeline.combinations import combine, missing_additional, supported


def out(cs, codes):
    return [c.code for c in combine(cs, codes)]


@pytest.mark.parametrize(("codes", "expected"), [
    # the index's "Diabetes, type 2, with, chronic kidney disease"; E11.22 asks for the CKD stage
    (["E11.9", "N18.32"], ["E11.22", "N18.32"]),
    # E11.42 says "polyneuropathy" itself: G62.9 goes
    (["E11.9", "G62.9"], ["E11.42"]),
    (["E11.42", "E11.9", "G62.9"], ["E11.42"]),
    # one combination per complication, E11.65 kept beside the new one
    (["E11.65", "N18.31"], ["E11.22", "E11.65", "N18.31"]),
    # CAD with angina: the "other forms" sibling follows the angina code's own title
    (["I25.10", "I20.89"], ["I25.118"]),
    (["I25.10", "I20.9"], ["I25.119"]),
    # J44.0 "code also to identify the infection": the bronchitis stays
    (["J44.9", "J20.9"], ["J44.0", "J20.9"]),
    # hypertension with heart failure and/or CKD (I.C.9.a)
    (["I10", "I50.22"], ["I11.0", "I50.22"]),
    (["I10", "N18.32"], ["I12.9", "N18.32"]),
    (["I10", "N18.6"], ["I12.0", "N18.6"]),
    (["I10", "I50.22", "N18.32"], ["I13.0", "I50.22", "N18.32"]),
    (["I11.0", "N18.32"], ["I13.0", "N18.32"]),
    (["I13.10", "I50.33", "N18.32"], ["I13.0", "I50.33", "N18.32"]),
    # the coded CKD stage decides the hypertensive code's stage, not the pick's wording (I.C.9.a.3)
    (["I13.2", "I50.32", "N18.32"], ["I13.0", "I50.32", "N18.32"]),
    (["I13.0", "I50.32", "N18.6"], ["I13.2", "I50.32", "N18.6"]),
    # an unspecified code beside a specific one of the same condition goes
    (["I11.0", "I50.9", "I50.22"], ["I11.0", "I50.22"]),
    (["M54.40", "M54.42"], ["M54.42"]),
])
def test_combinations(cs, codes, expected):
    assert out(cs, codes) == expected


@pytest.mark.parametrize("codes", [
    ["I10", "E78.5", "F17.210"],
    # hypothyroidism is indexed under "Cataract, myxedema" as a cause: not a diabetic cataract
    ["E11.65", "E03.9", "E66.811"],
    # status codes are not conditions a "with" subterm names (no "oral complications" from Z79.84)
    ["E11.9", "Z79.84"],
    ["F10.20", "K21.9"],
    # "Spondylosis without myelopathy" names no myelopathy: no M51.06 "disc disorder with myelopathy"
    ["M51.26", "M47.816"],
])
def test_unrelated_conditions_stay_apart(cs, codes):
    assert out(cs, codes) == codes


def test_missing_additional_and_support(cs):
    assert {str(r) for r in missing_additional(cs, "I13.0", [])} == {"I50", "N181-N184, N189"}
    assert not any(r.contains("I50.22") for r in missing_additional(cs, "I13.0", ["I50.22"]))
    # one range of a note fills the whole note: a CKD stage 3b code answers "N18.1-N18.4, N18.9"
    assert [str(r) for r in missing_additional(cs, "I13.0", ["I50.22", "N18.32"])] == []
    assert missing_additional(cs, "E11.42", []) == []  # only drug-control codes: left to the Z79 rule
    text = "chronic systolic heart failure due to hypertensive heart and kidney disease"
    assert supported(cs, "I50.22", text) > supported(cs, "I50.20", text) > 0
    assert supported(cs, "I50.32", text) == 0  # diastolic is not said


def test_coder_reports_the_combination_with_its_additional_codes():
    enc = Encounter(
        encounter_id="C", setting=Setting.office, patient=Patient(age=71, sex="M"),
        date_of_service=date(2026, 6, 1),
        notes=[Note(text="Assessment:\n1. Chronic systolic heart failure due to hypertensive heart and kidney "
                         "disease, compensated.\n2. CKD stage 3b, stable.\n3. Type 2 diabetes mellitus.\n")],
    )
    res = Coder(dense=False).code(enc)
    codes = [c.code for c in res.codes]
    assert "I13.0" in codes and "I50.22" in codes and "N18.32" in codes
    assert "E11.22" in codes and "E11.9" not in codes and "I10" not in codes
    i13 = next(c for c in res.codes if c.code == "I13.0")
    assert "combination" in (i13.explanation or "") or "I.C.9.a" in (i13.explanation or "")


def test_hypertensive_ckd_stays_beside_diabetic_ckd(cs):
    # E11.22 says nothing of hypertension: I12.9 is not absorbed by the diabetes combination (I.C.9.a)
    codes = [c.code for c in combine(cs, ["E11.22", "I12.9", "N18.31"])]
    assert codes == ["E11.22", "I12.9", "N18.31"]


def test_a_ckd_stage_must_follow_the_word_stage(cs):
    # the 2 of "type 2 diabetes" is not "stage 2"
    text = "type 2 diabetes mellitus with diabetic chronic kidney disease stage 3a"
    assert supported(cs, "N18.2", text) == 0
    assert supported(cs, "N18.31", text) > 0
