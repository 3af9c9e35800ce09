"""Adverse effects of drugs (T36-T50, I.C.19.e.5.a), long-term immunosuppressants and NSAIDs (Z79),
social determinants of health (Z55-Z65, I.B.14 / I.C.21.c.17) and the tobacco product a nicotine
dependence takes from the social history: the guideline helpers and the coder end to end."""

from datetime import date
from pathlib import Path

import pytest

from medcore.model import Encounter, Note, Patient, Setting
from serving.pipeline.guidelines import (
    adverse_effect,
    adverse_effect_wording,
    long_term_drugs,
    social_determinants,
)

DATA = Path(__file__).resolve().parents[2] / "serving" / "pipeline" / "data"


def code(coder, text, setting=Setting.office, age=64, sex="F"):
    enc = Encounter(encounter_id="S", setting=setting, patient=Patient(age=age, sex=sex),
                    date_of_service=date(2026, 6, 1), notes=[Note(text=text)])
    return [c.code for c in coder.code(enc).codes]


def _tsv_codes(name):
    return [line.split("\t")[0] for line in (DATA / name).read_text().splitlines()
            if line.strip() and not line.startswith("#")]


# -- adverse_effect: the T36-T50 code of the drug a condition is blamed on ------------------------------

@pytest.mark.parametrize(("text", "expected", "drug_phrase"), [
    ("Chemotherapy-induced peripheral neuropathy (oxaliplatin), chronic residual, stable", "T45.1X5S",
     "Chemotherapy-induced"),                        # a residual is a sequela: 7th character S
    ("Oxaliplatin-induced peripheral neuropathy, grade 2", "T45.1X5A", "Oxaliplatin-induced"),
    ("anemia due to chemotherapy", "T45.1X5A", "due to chemotherapy"),
    ("Aromatase-inhibitor-induced arthralgia", "T38.6X5A", "Aromatase-inhibitor-induced"),
    ("steroid-induced hyperglycemia", "T38.0X5A", "steroid-induced"),
    ("cough from lisinopril", "T46.4X5A", "from lisinopril"),
])
def test_adverse_effect_code_and_drug_phrase(cs, text, expected, drug_phrase):
    hit = adverse_effect(cs, text)
    assert hit is not None and hit.code == expected
    assert text[hit.start:hit.end] == drug_phrase


@pytest.mark.parametrize("text", ["Hypertension", "Peripheral neuropathy, grade 2", "History of chemotherapy"])
def test_no_drug_blamed_is_no_adverse_effect(cs, text):
    assert adverse_effect(cs, text) is None


def test_every_adverse_effect_code_is_billable_initial_and_sequela(cs):
    roots = _tsv_codes("adverse_effect_drugs.tsv")
    assert len(roots) >= 10 and all(r.startswith("T") and len(r) == 7 for r in roots)
    codes = [r + seventh for r in roots for seventh in "AS"]
    assert [c for c in codes if not cs.is_billable(c)] == []


# -- adverse_effect_wording: the condition as the Alphabetic Index words it ------------------------------

def test_drug_induced_neuropathy_is_worded_without_the_drug():
    worded = adverse_effect_wording("Oxaliplatin-induced peripheral neuropathy (oxaliplatin)")
    assert "drug-induced peripheral neuropathy" in worded
    assert "oxaliplatin" not in worded.lower()


def test_chemo_induced_cytopenia_is_worded_due_to_antineoplastic_chemotherapy():
    assert "anemia due to antineoplastic chemotherapy" in adverse_effect_wording("chemo-induced anemia")


def test_chemo_induced_anemia_wording_has_no_doubled_word():
    assert adverse_effect_wording("chemo-induced anemia") == "anemia due to antineoplastic chemotherapy"


@pytest.mark.parametrize("text", ["Essential hypertension, controlled", "Type 2 diabetes mellitus without complications",
                                  "cough from lisinopril"])
def test_unrelated_or_non_chemo_from_wording_is_unchanged(text):
    assert adverse_effect_wording(text) == text


# -- the coder: the manifestation first, then the drug's T code -----------------------------------------

ONCOLOGY_NOTE = (
    "ONCOLOGY OFFICE VISIT\n"
    "HPI: 62 y/o M with stage III colon cancer s/p resection, on adjuvant FOLFOX, here before cycle 7. "
    "Reports numbness and tingling in both feet.\n"
    "Assessment:\n1. Oxaliplatin-induced peripheral neuropathy, grade 2 - reduce dose.\n"
)


def test_adverse_effect_code_follows_its_manifestation(coder):
    codes = code(coder, ONCOLOGY_NOTE, age=62, sex="M")
    assert "T45.1X5A" in codes
    i = codes.index("T45.1X5A")
    # the nature of the effect (a polyneuropathy, G60-G65) comes first, right before the drug
    assert i >= 1 and codes[i - 1].startswith("G6")
    assert codes.count("T45.1X5A") == 1


def test_oxaliplatin_neuropathy_is_g62_0_then_t45_1x5a(coder):
    codes = code(coder, ONCOLOGY_NOTE, age=62, sex="M")
    assert "G62.0" in codes
    i = codes.index("G62.0")
    assert codes[i + 1] == "T45.1X5A"


# -- long_term_drugs: immunosuppressants, NSAIDs only when chronic --------------------------------------

def _long_term(note):
    return [(h.code, note[h.start:h.end]) for h in long_term_drugs(note, [(0, len(note))])]


def test_immunosuppressants_are_long_term_therapy():
    got = _long_term("on tacrolimus 3 mg BID + mycophenolate 500 mg BID")
    assert ("Z79.621", "tacrolimus") in got and ("Z79.624", "mycophenolate") in got


def test_a_daily_nsaid_for_a_year_is_long_term():
    got = _long_term("Taking naproxen 500 mg BID daily x 1 yr")
    assert [c for c, _ in got] == ["Z79.1"]
    assert got[0][1].startswith("naproxen")


@pytest.mark.parametrize("note", [
    "ibuprofen 400-600 q6h prn",                 # as needed
    "Ibuprofen 400 mg TID w/ food x 5 d",        # a short course
])
def test_prn_or_short_nsaid_is_not_long_term(note):
    assert "Z79.1" not in [c for c, _ in _long_term(note)]


def test_a_short_steroid_burst_is_not_long_term():
    assert _long_term("prednisone 40 mg x 5 d") == []


def test_every_long_term_drug_code_is_billable(cs):
    codes = _tsv_codes("long_term_drugs.tsv")
    assert {"Z79.621", "Z79.624", "Z79.631", "Z79.1"} <= set(codes)
    assert [c for c in codes if not cs.is_billable(c)] == []


# -- social_determinants ---------------------------------------------------------------------------------

def _sdoh(note):
    hits = social_determinants(note, [(0, len(note))])
    for h in hits:
        matched = note[h.start:h.end]
        assert matched and matched == matched.strip()
    return [h.code for h in hits]


@pytest.mark.parametrize(("note", "expected"), [
    ("SHx: recently laid off, unemployed since March.", ["Z56.0"]),
    ("Received an eviction notice, at risk of homelessness.", ["Z59.811"]),
    ("Separated from her husband last month.", ["Z63.5"]),
    ("Primary caregiver for her husband with dementia.", ["Z63.6"]),
    ("Works at a commercial bakery with flour daily", ["Z57.2"]),
    ("Lives alone", ["Z60.2"]),
    ("Denies food insecurity.", []),                  # denied
    ("Her mother is unemployed.", []),                # another person's
])
def test_social_determinants(note, expected):
    assert _sdoh(note) == expected


def test_sheltered_homelessness_is_the_most_specific_form():
    note = "Lives in a family shelter since eviction; previously homeless."
    hits = social_determinants(note, [(0, len(note))])
    codes = [h.code for h in hits]
    assert codes == ["Z59.01"]
    assert "Z59.00" not in codes and "Z59.811" not in codes
    assert note[hits[0].start:hits[0].end] == "Lives in a family shelter"


def test_social_determinants_only_in_the_given_spans():
    note = "FHx: father unemployed.\nSHx: unemployed since March.\n"
    shx = note.index("SHx")
    (hit,) = social_determinants(note, [(shx, len(note))])
    assert hit.code == "Z56.0" and hit.start > shx and note[hit.start:hit.end] == "unemployed"


def test_every_social_determinant_code_is_billable(cs):
    codes = _tsv_codes("social_determinants.tsv")
    assert len(codes) >= 10
    assert [c for c in codes if not cs.is_billable(c)] == []


# -- the coder: SDOH from the social history ---------------------------------------------------------------

BH_NOTE = (
    "BEHAVIORAL HEALTH FOLLOW-UP\n"
    "HPI: 45 y/o F with depression, worse mood over past months, poor sleep, low energy.\n"
    "SHx: unemployed x 6 mo, lives with her sister.\n"
    "Assessment:\n1. Major depressive disorder, recurrent, moderate - increase sertraline.\n"
)


def test_unemployment_in_the_social_history_is_coded_with_the_depression(coder):
    codes = code(coder, BH_NOTE, age=45)
    assert "F33.1" in codes and "Z56.0" in codes
    assert codes.index("F33.1") < codes.index("Z56.0")


def test_denied_unemployment_is_not_coded(coder):
    note = BH_NOTE.replace("unemployed x 6 mo, lives with her sister", "Denies unemployment or housing issues")
    codes = code(coder, note, age=45)
    assert "F33.1" in codes
    assert "Z56.0" not in codes and not any(c.startswith("Z59") for c in codes)


# -- the coder: a dependence stated without its product takes the social history's ---------------------

def _tobacco_note(assessment, shx):
    return ("OFFICE VISIT\nHPI: 55 y/o M for follow-up.\n" + shx + "\nAssessment:\n1. " + assessment + "\n")


def test_tobacco_dependence_with_a_smoker_social_history_is_cigarettes(coder):
    codes = code(coder, _tobacco_note("Tobacco dependence - cessation advised.", "SHx: smokes 1 ppd x 30 yrs."),
                 age=55, sex="M")
    assert "F17.210" in codes
    assert "F17.220" not in codes and "F17.200" not in codes


def test_tobacco_dependence_with_chewing_in_the_social_history_is_chewing_tobacco(coder):
    codes = code(coder, _tobacco_note("Tobacco dependence - cessation advised.", "SHx: chews tobacco daily."),
                 age=55, sex="M")
    assert "F17.220" in codes
    assert "F17.210" not in codes and "F17.200" not in codes


@pytest.mark.parametrize(("shx", "expected"), [
    ("SHx: smokes 1 ppd x 30 yrs.", "F17.210"),
    ("SHx: chews tobacco daily.", "F17.220"),
])
def test_nicotine_dependence_takes_the_product_from_the_social_history(coder, shx, expected):
    codes = code(coder, _tobacco_note("Nicotine dependence - cessation advised.", shx), age=55, sex="M")
    # the assessment's unspecified-product dependence is refined, not coded beside the social history's
    assert [c for c in codes if c.startswith("F17")] == [expected]


def test_tobacco_dependence_is_not_other_psychoactive_substance_dependence(coder):
    codes = code(coder, _tobacco_note("Tobacco dependence - cessation advised.", "SHx: smokes 1 ppd x 30 yrs."),
                 age=55, sex="M")
    assert codes == ["F17.210"]
