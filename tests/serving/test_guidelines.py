"""Coding guidelines as code: each rule with a case that passes and one that must not."""

from datetime import date

import pytest

from medcore.model import Encounter, Note, Patient, Setting
from serving.pipeline.guidelines import episode_of_care, history_query, long_term_drugs


def code(coder, text, setting=Setting.office):
    enc = Encounter(encounter_id="G", setting=setting, patient=Patient(age=64, sex="F"),
                    date_of_service=date(2026, 6, 1), notes=[Note(text=text)])
    return [c.code for c in coder.code(enc).codes]


def test_seventh_character_follows_the_episode_of_care(cs):
    assert episode_of_care(cs, "S52.531S", "Colles fracture of right radius", "ED visit after a fall") == "S52.531A"
    assert episode_of_care(cs, "S52.531A", "Colles fracture of right radius",
                           "Cast check, routine healing at 4 weeks") == "S52.531D"
    assert episode_of_care(cs, "S52.531A", "Colles fracture, right radius, nonunion", "subsequent encounter") == "S52.531K"
    assert episode_of_care(cs, "S52.531A", "open fracture of right radius", "ED") == "S52.531B"
    assert episode_of_care(cs, "S52.531A", "sequela of Colles fracture, right", "") == "S52.531S"
    assert episode_of_care(cs, "I10", "hypertension", "") == "I10"  # no 7th character: unchanged


def test_history_query_uses_the_index_phrasing():
    assert history_query("breast cancer in her mother", "family") == "history family breast malignant neoplasm in her"
    # the Alphabetic Index enters tobacco use under nicotine dependence (Z87.891)
    assert history_query("tobacco use", "historical") == "history personal nicotine dependence"


def test_family_history_is_coded_as_family_history(coder):
    codes = code(coder, "FHx: mother with breast cancer.\nAssessment:\n1. Lump in left breast.")
    assert "Z80.3" in codes and "C50.919" not in codes and not any(c.startswith("C50") for c in codes)
    # a relative's condition from the family history section that bears on nothing assessed is not coded
    codes = code(coder, "FHx: mother with breast cancer.\nAssessment:\n1. Essential hypertension - stable.")
    assert codes == ["I10"]


def test_history_of_is_coded_as_personal_history(coder):
    codes = code(coder, "Assessment:\n1. History of breast cancer, completed treatment, no recurrence.")
    assert "Z85.3" in codes and not any(c.startswith("C50") for c in codes)


def test_long_term_drugs_from_the_medication_list():
    note = "Meds: metformin 1000 mg BID, apixaban 5 mg BID. Stopped warfarin in 2024."
    hits = {h.code for h in long_term_drugs(note, [(0, len(note))])}
    assert hits == {"Z79.84", "Z79.01"}
    note2 = "Meds: apixaban 5 mg BID\nwarfarin discontinued"
    assert {h.code for h in long_term_drugs(note2, [(0, len(note2))])} == {"Z79.01"}
    assert long_term_drugs("Consider metformin if A1c rises.", [(0, 33)]) == []


def test_z79_only_follows_a_coded_condition(coder):
    with_condition = code(coder, "Meds: metformin 500 mg daily.\nAssessment:\n1. Type 2 diabetes mellitus without complications.")
    assert with_condition[0] == "E11.9" and "Z79.84" in with_condition
    assert "Z79.84" not in code(coder, "Meds: metformin 500 mg daily.\nAssessment:\nNo active problems.")


@pytest.mark.parametrize(("text", "codes"), [
    ("ER+/PR+/HER2-", ["Z17.0", "Z17.21", "Z17.32"]),
    ("ER positive, PR negative, HER2 negative", ["Z17.0", "Z17.22", "Z17.32"]),
    ("ER/PR positive, HER2/neu negative", ["Z17.0", "Z17.21", "Z17.32"]),
    ("triple negative", ["Z17.1", "Z17.22", "Z17.32"]),
    ("no receptor status yet", []),
])
def test_receptor_status(text, codes):
    from serving.pipeline.guidelines import receptor_status

    assert [h.code for h in receptor_status(text, [(0, len(text))])] == codes


def test_receptor_status_follows_only_a_breast_malignancy(coder):
    text = "Assessment:\n1. Malignant neoplasm of upper-outer quadrant of left breast, ER+/PR+/HER2-.\n"
    assert code(coder, text) == ["C50.412", "Z17.0", "Z17.21", "Z17.32"]
    # the same receptor words beside a condition whose notes do not ask for them add nothing
    assert "Z17.0" not in code(coder, "Assessment:\n1. Essential hypertension. ER+ noted in old chart.\n")


def test_chemotherapy_and_immunotherapy_encounters_are_first_listed(coder):
    text = ("INFUSION NOTE C2D1\nAssessment:\n1. Adenocarcinoma of RUL lung.\n"
            "Administration:\n10:20 pembrolizumab 200 mg IV over 30 min\n10:55 pemetrexed 1000 mg IV over 10 min\n")
    assert code(coder, text)[:3] == ["Z51.11", "Z51.12", "C34.11"]
    # a plan to start chemotherapy is not an encounter for it
    planned = "Assessment:\n1. Adenocarcinoma of RUL lung.\nPlan: will start carboplatin IV next week.\n"
    assert "Z51.11" not in code(coder, planned)
    # nor is chemotherapy without a coded malignancy
    assert "Z51.11" not in code(coder, "Assessment:\n1. Essential hypertension.\nMethotrexate given IM today.\n")


def test_preventive_visit_lists_the_routine_exam_first_and_z23_for_a_vaccine(coder):
    text = ("ANNUAL PREVENTIVE EXAM\nAssessment/Plan:\n1. Adult wellness exam.\n2. Prediabetes (A1c 6.0).\n"
            "Immunization: Influenza vaccine 0.5 mL IM L deltoid, lot #FL1, VIS given.\n")
    codes = code(coder, text)
    assert codes[0] == "Z00.01" and "R73.03" in codes and "Z23" in codes
    normal = "ANNUAL PREVENTIVE EXAM\nAssessment:\n1. Adult wellness exam without abnormal findings.\n"
    assert code(coder, normal)[0] == "Z00.00"
    # a vaccine only recommended is not Z23
    assert "Z23" not in code(coder, "Assessment:\n1. Essential hypertension.\nShingrix recommended, pt will consider.\n")


def test_preventive_exam_code_by_age():
    from serving.pipeline.guidelines import preventive_exam_code

    assert preventive_exam_code("well child visit", 6, []) == "Z00.129"
    assert preventive_exam_code("well child visit", 6, ["H66.001"]) == "Z00.121"
    assert preventive_exam_code("annual physical", 50, ["Z79.01"]) == "Z00.00"
    assert preventive_exam_code("annual physical", None, []) is None


def test_an_sglt2_inhibitor_without_diabetes_is_not_hypoglycemic_therapy(coder):
    hf = "Meds: empagliflozin 10 mg daily, metoprolol.\nAssessment:\n1. Chronic systolic heart failure, compensated."
    assert "Z79.84" not in code(coder, hf)
    dm = hf.replace("1. Chronic", "1. Type 2 diabetes mellitus without complications.\n2. Chronic")
    assert "Z79.84" in code(coder, dm)
