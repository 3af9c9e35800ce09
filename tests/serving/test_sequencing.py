"""Sequencing and reading rules added with the third coding session: severe sepsis after its systemic
infection (I.C.1.d.1.a), the cause an assessment item names, metastases written "w/ <site> mets",
and assessment lines that are orders or medication records rather than diagnoses."""

from datetime import date

from medcore.model import Encounter, Note, Patient, Setting
from serving.pipeline.guidelines import sepsis_first
from serving.pipeline.mentions import extract


def code(coder, text, setting=Setting.office, age=70, sex="M"):
    enc = Encounter(encounter_id="Q", setting=setting, patient=Patient(age=age, sex=sex),
                    date_of_service=date(2026, 6, 1), notes=[Note(text=text)])
    return [c.code for c in coder.code(enc).codes]


def test_sepsis_first_only_without_a_systemic_infection():
    assert sepsis_first(["R65.21", "N39.0"]) == "A41.9"
    assert sepsis_first(["A41.51", "R65.21"]) is None  # E. coli sepsis already coded
    assert sepsis_first(["N39.0", "I10"]) is None  # no severe sepsis


def test_severe_sepsis_is_listed_after_its_infection_and_the_cause_is_coded(coder):
    codes = code(coder, "Assessment:\n1. Severe sepsis w/ septic shock secondary to urinary tract infection.\n"
                        "2. Acute kidney injury.", setting=Setting.inpatient)
    assert codes[:2] == ["A41.9", "R65.21"]
    assert "N39.0" in codes and "N17.9" in codes


def test_bone_mets_written_after_the_primary_are_their_own_mention():
    note = "A/P:\n1. Metastatic prostate ca w/ bone mets, castration-sensitive, responding - continue ADT.\n"
    texts = [m.text for m in extract(note) if m.primary]
    assert "bone mets" in texts and any(t.startswith("Metastatic prostate ca") for t in texts)


def test_prostate_cancer_with_bone_mets_codes_both(coder):
    codes = code(coder, "A/P:\n1. Metastatic prostate ca w/ bone mets, castration-sensitive - continue ADT.")
    assert "C61" in codes and "C79.51" in codes


def test_follow_up_and_medication_lines_are_not_diagnoses(coder):
    codes = code(coder, "A/P:\n1. Essential hypertension - stable.\n"
                        "   - Leuprolide acetate 22.5 mg (depot) SC administered today by RN.\n"
                        "RTC 3 mo w/ PSA, CBC, CMP.")
    assert codes[0] == "I10"
    assert not any(c.startswith(("R97", "Z51", "Z92")) for c in codes), codes


def test_a_code_the_age_edits_rule_out_is_never_picked(coder):
    # BM25 alone ranks "Neonatal urinary tract infection" (P39.3) high for "urinary tract infection"
    codes = code(coder, "Assessment:\n1. Urinary tract infection.", age=70)
    assert "N39.0" in codes and not any(c.startswith("P") for c in codes)


def test_a_treated_malignancy_in_the_past_history_is_personal_history(coder):
    note = ("PMH: HTN; R breast ca 2010 s/p R mastectomy, tamoxifen x 5 yr completed 2015, no recurrence.\n"
            "A/P:\n1. Essential hypertension - at goal.")
    codes = code(coder, note, sex="F")
    assert "Z85.3" in codes and not any(c.startswith("C50") for c in codes)


def test_a_current_malignancy_is_not_also_its_own_history(coder):
    note = ("PMH: L breast ca 2025 s/p lumpectomy.\n"
            "A/P:\n1. Malignant neoplasm of left breast, upper-outer quadrant - on letrozole.")
    codes = code(coder, note, sex="F")
    assert any(c.startswith("C50") for c in codes) and "Z85.3" not in codes


def test_type_1_diabetes_takes_no_long_term_insulin_code(coder):
    codes = code(coder, "Meds: insulin glargine 20 u qhs.\nA/P:\n1. Type 1 diabetes mellitus with hyperglycemia.")
    assert codes[0] == "E10.65" and "Z79.4" not in codes
    codes = code(coder, "Meds: insulin glargine 20 u qhs.\nA/P:\n1. Type 2 diabetes mellitus with hyperglycemia.")
    assert codes[0] == "E11.65" and "Z79.4" in codes


def test_a_screening_study_lists_the_screening_code_first(coder):
    note = ("EXAM: CT CHEST LOW-DOSE LUNG CANCER SCREENING WITHOUT CONTRAST\n"
            "CLINICAL INDICATION: Annual lung cancer screening. Current smoker, 42 pack-years.\n\n"
            "IMPRESSION:\n1. Centrilobular emphysema.")
    codes = code(coder, note, setting=Setting.radiology)
    assert codes[0] == "Z12.2" and "J43.2" in codes
    # a diagnostic study is not a screening encounter
    codes = code(coder, note.replace("LUNG CANCER SCREENING", "DIAGNOSTIC").replace("Annual lung cancer screening",
                                                                                    "Cough"), setting=Setting.radiology)
    assert "Z12.2" not in codes


def test_a_past_test_or_an_exercise_tip_is_not_an_encounter_reason(coder):
    codes = code(coder, "A/P:\n1. Essential hypertension.\n2. Germline testing (2024).\n3. Weight bearing exercise.")
    assert codes == ["I10"]


def test_a_fragility_fracture_in_osteoporosis_is_m80(coder):
    note = ("A/P:\n1. Displaced R femoral neck fracture - low-energy fall from standing in known osteoporosis.\n"
            "2. Age-related osteoporosis, on bisphosphonate.")
    codes = code(coder, note, setting=Setting.inpatient, sex="F", age=71)
    assert codes[0] == "M80.051A"
    assert not any(c.startswith(("S72", "M81")) for c in codes)
    # high-energy trauma in the same patient stays a traumatic fracture
    note = ("A/P:\n1. Displaced R femoral neck fracture - motor vehicle collision at highway speed.\n"
            "2. Age-related osteoporosis, on bisphosphonate.")
    codes = code(coder, note, setting=Setting.inpatient, sex="F", age=71)
    assert codes[0].startswith("S72") and not any(c.startswith("M80.05") for c in codes)


def test_a_negated_detail_inside_a_diagnosis_is_its_without_axis(coder):
    codes = code(coder, "A/P:\n1. Acute suppurative otitis media, R ear, no TM rupture - amoxicillin.", age=4)
    assert codes[0] == "H66.001"


def test_not_intractable_keeps_its_title_wording(coder):
    codes = code(coder, "Dx: Migraine without aura, not intractable, without status migrainosus.", sex="F", age=40)
    assert codes[0] == "G43.009"


def test_pregnancy_codes_need_a_documented_pregnancy(coder):
    codes = code(coder, "A/P:\n1. Deep vein thrombosis of left leg.", sex="F", age=30)
    assert codes and not any(c.startswith("O") for c in codes)


def test_never_more_codes_than_an_837p_carries(coder):
    items = ["Essential hypertension", "Hyperlipidemia", "Hypothyroidism", "Gastroesophageal reflux disease",
             "Osteoarthritis of right knee", "Major depressive disorder, recurrent, moderate", "Generalized anxiety disorder",
             "Chronic obstructive pulmonary disease", "Allergic rhinitis", "Gout", "Iron deficiency anemia",
             "Vitamin D deficiency", "Insomnia", "Migraine without aura, not intractable"]
    note = "SHx: former smoker, quit 2010.\nA/P:\n" + "\n".join(f"{i}. {t}." for i, t in enumerate(items, 1))
    enc = Encounter(encounter_id="CAP", setting=Setting.office, patient=Patient(age=60, sex="F"),
                    date_of_service=date(2026, 6, 1), notes=[Note(text=note)])
    result = coder.code(enc)
    assert len(result.codes) == 12 and [c.rank for c in result.codes] == list(range(1, 13))
    assert any(d["reason"].startswith("over max_codes") for d in result.dropped)
