"""History codes from the condition's chapter, documented status Z codes, BMI (Z68) and the coder
paths that use them: each rule with a case that must hold and one that must not."""

from datetime import date
from pathlib import Path

import pytest

from medcore.model import Assertion, Encounter, Note, Patient, Setting
from serving.pipeline.assertion import assess
from serving.pipeline.guidelines import (
    bmi_code,
    history_code,
    history_query,
    long_term_drugs,
    status_codes,
    tobacco_status,
)

DATA = Path(__file__).resolve().parents[2] / "serving" / "pipeline" / "data"


def code(coder, text, setting=Setting.office, age=64, sex="F"):
    enc = Encounter(encounter_id="S", setting=setting, patient=Patient(age=age, sex=sex),
                    date_of_service=date(2026, 6, 1), notes=[Note(text=text)])
    return [c.code for c in coder.code(enc).codes]


def _tsv_rows(name):
    for line in (DATA / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            yield line.split("\t")


# -- history_code: the history category whose chapter/block holds the condition ----------------------

@pytest.mark.parametrize(("kind", "condition", "expected"), [
    ("family", "I45.81", "Z82.49"),      # long QT: circulatory catch-all
    ("family", "I63.9", "Z82.3"),        # stroke: its own row, before the I00-I99 catch-all
    ("family", "C18.9", "Z80.0"),        # digestive organs
    ("family", "C50.919", "Z80.3"),      # breast
    ("family", "E11.9", "Z83.3"),        # diabetes, before the E00-E89 catch-all
    ("historical", "C18.7", "Z85.038"),
    ("historical", "C61", "Z85.46"),
    ("historical", "I82.409", "Z86.718"),
    ("historical", "I21.4", "I25.2"),    # old MI is I25.2, not a Z code (I.C.9.e.4)
    ("historical", "F17.210", "Z87.891"),
    ("historical", "S72.001A", "Z87.81"),  # healed fracture, not the Z87.828 injury catch-all
    ("family", "R51.9", None),           # symptoms have no history row
])
def test_history_code_follows_the_condition_chapter(cs, kind, condition, expected):
    assert history_code(cs, condition, kind) == expected


def test_family_and_personal_history_differ_for_the_same_condition(cs):
    assert history_code(cs, "C18.7", "family") == "Z80.0"
    assert history_code(cs, "C18.7", "historical") == "Z85.038"


def test_every_history_code_in_the_table_is_billable(cs):
    rows = list(_tsv_rows("history_codes.tsv"))
    assert len(rows) > 100
    kinds = {r[0] for r in rows}
    assert kinds == {"family", "historical"}
    unbillable = [r[1] for r in rows if not cs.is_billable(r[1])]
    assert unbillable == []


def test_history_query_enters_a_former_smoker_under_nicotine_dependence():
    q = history_query("Former smoker", "historical")
    assert "nicotine dependence" in q and q.startswith("history personal")
    assert "smoker" not in q


# -- status_codes: devices, grafts, dependence, joints -------------------------------------------------

def _status(note):
    return [(h.code, note[h.start:h.end]) for h in status_codes(note, [(0, len(note))])]


@pytest.mark.parametrize(("note", "expected"), [
    ("s/p PCI/DES to RCA in 2019.", "Z95.5"),
    ("s/p CABG x3", "Z95.1"),
    ("Has a single-chamber ICD.", "Z95.810"),
    ("Uses home O2 2 L at night.", "Z99.81"),
    ("ESRD on HD MWF", "Z99.2"),
    ("s/p L TKA", "Z96.652"),
    ("right THA (2019)", "Z96.641"),
    ("bilateral TKA", "Z96.653"),
])
def test_status_codes_documented(note, expected):
    hits = status_codes(note, [(0, len(note))])
    assert [h.code for h in hits] == [expected]
    for h in hits:
        matched = note[h.start:h.end]
        assert matched and matched == matched.strip() and h.start >= 0 and h.end <= len(note)


def test_status_hit_offsets_index_the_note():
    note = "HPI: 70 y/o M.\nPMH: CAD s/p CABG x3 (2015); ESRD on HD MWF; s/p L TKA.\n"
    got = _status(note)
    assert [c for c, _ in got] == ["Z95.1", "Z99.2", "Z96.652"]
    texts = dict(got)
    assert "CABG" in texts["Z95.1"] and "HD" in texts["Z99.2"] and "TKA" in texts["Z96.652"]
    # a span that leaves a status out does not report it
    pmh = note.index("PMH")
    cut = note.index("ESRD")
    assert [h.code for h in status_codes(note, [(pmh, cut)])] == ["Z95.1"]


def test_icd_the_code_system_is_not_a_defibrillator():
    assert _status("ICD-10 code reviewed with the patient.") == []
    assert _status("Reviewed ICD 10 codes.") == []


@pytest.mark.parametrize("note", [
    "No pacemaker.",
    "Will need PCI of the LAD.",
    "Candidate for TKA.",
    "Kidney transplant evaluation.",
    "Denies home O2 use.",
])
def test_negated_or_planned_status_is_not_a_status(note):
    assert status_codes(note, [(0, len(note))]) == []


def test_every_status_code_in_the_table_is_billable(cs):
    rows = list(_tsv_rows("status_codes.tsv"))
    assert len(rows) >= 15
    assert [r[0] for r in rows if not cs.is_billable(r[0])] == []
    # the joint codes status_codes builds (Z96.6-) are billable too
    for note in ("L TKA", "R TKA", "bilateral TKA", "TKA", "left THA", "right THA", "bilat THA", "THA",
                 "left TSA", "right TSA", "TSA"):
        (hit,) = status_codes(note, [(0, len(note))])
        assert cs.is_billable(hit.code), (note, hit.code)


# -- BMI (Z68) ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("note", "age", "expected"), [
    ("BMI 37.4", 50, "Z68.37"),
    ("BMI 19.5", 50, "Z68.1"),
    ("BMI 41", 50, "Z68.41"),
    ("BMI 52", 50, "Z68.43"),
    ("Vitals: Wt 110 kg, BMI: 36.4.", 50, "Z68.36"),
    ("BMI 97th percentile", 10, "Z68.54"),
    ("BMI 37.4", 10, None),            # an adult value for a child is not coded
])
def test_bmi_code(note, age, expected):
    hit = bmi_code(note, age, [(0, len(note))])
    assert (hit.code if hit else None) == expected
    if hit:
        assert note[hit.start:hit.end].startswith("BMI")


# -- long-term drugs: a finished course is not Z79 -----------------------------------------------------

def test_a_finished_anticoagulant_course_is_not_long_term_use():
    past = "PMH: DVT in 2015, treated w/ 6 mo warfarin, no recurrence."
    assert "Z79.01" not in {h.code for h in long_term_drugs(past, [(0, len(past))])}
    current = "Meds: on warfarin 5 mg daily."
    assert [h.code for h in long_term_drugs(current, [(0, len(current))])] == ["Z79.01"]


# -- the coder end to end -------------------------------------------------------------------------------

def test_family_history_of_colon_cancer_is_z80_0_not_the_catch_all(coder):
    codes = code(coder, "Assessment:\n1. Family history of colon cancer (father)\n")
    assert "Z80.0" in codes
    assert "Z80.9" not in codes and not any(c.startswith("C18") for c in codes)


def test_documented_coronary_stent_is_z95_5(coder):
    note = ("HPI: 67 y/o M with CAD, PCI/DES to the RCA in 2019, here for follow-up.\n"
            "Assessment:\n1. Coronary artery disease of native coronary artery without angina.\n"
            "2. Status post RCA stent.\n")
    codes = code(coder, note, age=67, sex="M")
    assert "Z95.5" in codes and any(c.startswith("I25") for c in codes)


def test_status_post_stent_is_not_a_healed_injury(coder):
    note = ("HPI: 67 y/o M with CAD, PCI/DES to the RCA in 2019, here for follow-up.\n"
            "Assessment:\n1. Coronary artery disease of native coronary artery without angina.\n"
            "2. Status post RCA stent.\n")
    assert not any(c.startswith("Z87.8") for c in code(coder, note, age=67, sex="M"))


def test_a_stent_placed_this_admission_is_not_yet_a_status(coder):
    note = ("HPI: chest pain, troponin elevated.\nProcedures: PCI with DES x1 to proximal LAD\n"
            "Assessment:\n1. NSTEMI.\n")
    codes = code(coder, note, setting=Setting.inpatient, age=61, sex="M")
    assert "I21.4" in codes and "Z95.5" not in codes
    # the same words outside a procedure section do document the status
    before = note.replace("Procedures: PCI", "History: prior PCI")
    assert "Z95.5" in code(coder, before, setting=Setting.inpatient, age=61, sex="M")


def test_bmi_is_coded_with_a_weight_diagnosis_only(coder):
    codes = code(coder, "Assessment:\n1. Obesity class 2, BMI 36.4\n")
    assert "E66.812" in codes and "Z68.36" in codes
    no_weight_dx = code(coder, "Vitals: BMI 27.\nAssessment:\n1. Essential hypertension.\n")
    assert "I10" in no_weight_dx and not any(c.startswith("Z68") for c in no_weight_dx)


# -- family history in the assessment: a relative leads the mention -------------------------------------

def test_a_mention_led_by_a_relative_is_family():
    note = "A/P: 3. Former smoker; brother w/ lung ca - LDCT due."
    i = note.index("brother w/ lung ca")
    smoker = note.index("Former smoker")
    fam, own = assess(note, [(i, i + len("brother w/ lung ca")), (smoker, smoker + len("Former smoker"))])
    assert fam.status() is Assertion.family
    assert own.status() is Assertion.historical and not own.family


def test_former_smoker_with_a_brother_with_lung_cancer(coder):
    note = ("OFFICE VISIT\nHPI: 66 y/o M with COPD, here for follow-up.\nAssessment:\n"
            "1. COPD, stable on tiotropium.\n2. Former smoker; brother w/ lung ca - LDCT due 9/2026.\n")
    codes = code(coder, note, age=66, sex="M")
    assert "Z80.1" in codes and "Z87.891" in codes
    assert not any(c.startswith("C34") for c in codes)   # the brother's cancer, not the patient's
    assert not any(c.startswith("Y07") for c in codes)   # "brother" is not a perpetrator (external causes)


# -- history items in the assessment's later sentences ----------------------------------------------------

def test_healing_fracture_after_orif_with_a_history_of_dvt(coder):
    note = ("OFFICE VISIT\nHPI: 58 y/o F, follow-up after ankle surgery.\nAssessment:\n"
            "1. Displaced bimalleolar fx L ankle s/p ORIF - routine healing.\n2. Hx of DVT, no current signs.\n")
    codes = code(coder, note, age=58, sex="F")
    assert codes[0] == "S82.842D"
    assert "Z86.718" in codes
    assert not any(c.startswith("I82") for c in codes)


def test_a_history_item_in_a_later_sentence_of_an_assessment_item_is_coded(coder):
    note = ("OFFICE VISIT\nHPI: 58 y/o F, follow-up after ankle surgery.\nAssessment:\n"
            "1. Displaced bimalleolar fx L ankle s/p ORIF - routine healing. Hx of DVT, no current signs.\n")
    codes = code(coder, note, age=58, sex="F")
    assert codes[0] == "S82.842D"
    assert "Z86.718" in codes and not any(c.startswith("I82") for c in codes)


# -- tobacco status from the social history and HPI ------------------------------------------------------

def _tobacco(note):
    return [(h.code, note[h.start:h.end]) for h in tobacco_status(note, [(0, len(note))])]


@pytest.mark.parametrize(("note", "expected"), [
    ("SHx: Former smoker, quit 2015 (30 pk-yr).", [("Z87.891", "Former smoker")]),
    ("SHx: smokes 1 ppd x 30 yrs.", [("F17.210", "smokes")]),
    ("SHx: vapes nicotine (e-cig) daily.", [("F17.290", "vapes")]),
    ("chews tobacco daily", [("F17.220", "chews tobacco")]),
    ("Never smoker; no secondhand smoke exposure.", []),
    ("Father smokes in the home.", [("Z77.22", "Father smokes")]),
])
def test_tobacco_status(note, expected):
    assert _tobacco(note) == expected


def test_tobacco_status_offsets_index_the_note():
    note = "HPI: 58 y/o F with cough.\nSHx: Lives with husband. Former smoker, quit 2015 (30 pk-yr).\n"
    ((code_, start, end),) = [(h.code, h.start, h.end) for h in tobacco_status(note, [(0, len(note))])]
    assert code_ == "Z87.891" and note[start:end] == "Former smoker"
    # a span that leaves the social history out reports nothing
    assert tobacco_status(note, [(0, note.index("SHx"))]) == []


def test_a_household_smoker_is_exposure_not_the_patients_dependence():
    codes = [c for c, _ in _tobacco("Father smokes in the home.")]
    assert codes == ["Z77.22"] and not any(c.startswith("F17") for c in codes)


def test_social_history_smoking_is_coded_once_with_the_assessment(coder):
    note = ("OFFICE VISIT\nHPI: 55 y/o M for follow-up.\nSHx: smokes 1 ppd x 30 yrs.\nAssessment:\n"
            "1. Nicotine dependence, cigarettes - counseled on cessation.\n")
    codes = code(coder, note, age=55, sex="M")
    assert [c for c in codes if c.startswith("F17")] == ["F17.210"]
    # without the assessment saying it, the social history still gives the status
    only_shx = note.replace("1. Nicotine dependence, cigarettes - counseled on cessation.", "1. Essential hypertension.")
    assert {"I10", "F17.210"} <= set(code(coder, only_shx, age=55, sex="M"))


def test_nicotine_dependence_on_e_cigarettes_is_other_tobacco_product(coder):
    note = ("OFFICE VISIT\nHPI: 25 y/o M wants to quit vaping.\nAssessment:\n"
            "1. Nicotine dependence, e-cigarettes - counseled.\n")
    codes = code(coder, note, age=25, sex="M")
    assert "F17.290" in codes and "F17.210" not in codes


# -- family history relevance -----------------------------------------------------------------------------

def test_family_history_is_coded_when_the_assessment_names_it(coder):
    note = ("OFFICE VISIT\nHPI: 35 y/o F with neck nodes x 6 wk.\n"
            "FHx: mother had Hodgkin lymphoma in her 40s (treated, lived to 80). Sister w/ breast ca.\n"
            "Assessment:\n1. Generalized lymphadenopathy - suspicious for lymphoma.\n")
    codes = code(coder, note, age=35, sex="F")
    assert "Z80.7" in codes          # the mother's lymphoma bears on a lymphoma work-up
    assert "Z80.3" not in codes      # the sister's breast cancer bears on nothing assessed
    assert not any(c.startswith(("C81", "C50")) for c in codes)


def test_a_bare_status_word_names_no_condition():
    from serving.pipeline.coder import _names_a_condition

    # "- healed" is said of the fracture before it; alone it names no condition, past or present
    # (with dense retrieval on, "healed" in a PMH line reached Z87.81 through the history route)
    assert not _names_a_condition("healed")
    assert not _names_a_condition("well-healed, stable")
    assert _names_a_condition("healed fracture")


def test_a_bare_status_word_in_history_codes_nothing(coder):
    text = ("Assessment:\n1. Hypothyroidism - stable.\n"
            "2. S/p L THA (2019) for prior fragility fx - healed.\n")
    codes = code(coder, text, age=71)
    assert "E03.9" in codes
    assert "Z87.81" not in codes
    assert not [c for c in codes if c.startswith("Z87.8")]


# -- treatment history (Z92.2-, Z92.3, Z90.-) and the follow-up after a treated malignancy (Z08) -------

def test_treatment_history_needs_a_coded_condition_it_bears_on():
    from serving.pipeline.guidelines import treatment_history

    note = "PMH: sigmoid colon cancer s/p laparoscopic sigmoid colectomy 2023, completed adjuvant chemo 10/2023."
    span = [(0, len(note))]
    assert [h.code for h in treatment_history(note, span, ["Z85.038"])] == ["Z90.49", "Z92.21"]
    # the same operation for a patient coded only for hypertension does not bear on the encounter
    assert treatment_history(note, span, ["I10"]) == []
    # an absent spleen always does
    assert [h.code for h in treatment_history("s/p splenectomy 1999 after trauma", [(0, 33)], ["I10"])] == ["Z90.81"]


def test_a_course_still_under_way_or_only_planned_is_not_history():
    from serving.pipeline.guidelines import treatment_history

    for note in ("Breast cancer, cycle 3 of 6 of prior regimen; on chemo now.",
                 "Will need chemo after colectomy; no prior chemotherapy."):
        assert [h.code for h in treatment_history(note, [(0, len(note))], ["C50.911"])
                if h.code.startswith("Z92")] == []


FOLLOW_UP_NOTE = """ONCOLOGY FOLLOW-UP
Oncologic hx: adenocarcinoma of sigmoid colon, s/p sigmoid colectomy 3/2023, completed adjuvant CAPOX 10/2023.
Today: surveillance visit. CEA normal. CT: no evidence of recurrence.
Assessment:
1. Hx of sigmoid colon cancer s/p resection and completed adjuvant chemo - NED on surveillance.
"""


def test_surveillance_after_a_treated_malignancy_lists_z08_first_then_the_history(coder):
    codes = code(coder, FOLLOW_UP_NOTE, age=60, sex="M")
    assert codes[:2] == ["Z08", "Z85.038"]
    assert {"Z90.49", "Z92.21"} <= set(codes)
    assert not [c for c in codes if c.startswith("C18")]


def test_no_z08_when_the_visit_is_about_something_else_or_the_cancer_is_back(coder):
    other = ("DIABETES FOLLOW-UP\nPMH: breast cancer 2015 s/p lumpectomy and radiation, no recurrence.\n"
             "Assessment:\n1. Type 2 diabetes mellitus without complications.\n")
    assert "Z08" not in code(coder, other, age=64)
    back = FOLLOW_UP_NOTE.replace("no evidence of recurrence", "new liver lesions concerning for metastases") \
        .replace("NED on surveillance", "on surveillance")
    assert "Z08" not in code(coder, back, age=60, sex="M")


def test_an_operation_this_encounter_documents_is_not_yet_an_absence(coder):
    note = ("OPERATIVE NOTE\nPreoperative diagnosis: adenocarcinoma of sigmoid colon.\n"
            "Procedure: laparoscopic sigmoid colectomy.\nFindings: sigmoid mass, no metastatic disease.\n"
            "Assessment:\n1. Adenocarcinoma of sigmoid colon.\n")
    codes = code(coder, note, age=60, sex="M")
    assert "C18.7" in codes
    assert "Z90.49" not in codes
