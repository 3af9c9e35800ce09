from datetime import date

from medcore.model import Encounter, Note, Setting
from rules.em_level import em_level


def enc(text: str, setting: Setting = Setting.office) -> Encounter:
    return Encounter(encounter_id="E", setting=setting, date_of_service=date(2026, 5, 1), notes=[Note(text=text)])


def test_straightforward_self_limited_visit():
    out = em_level(enc("Assessment: viral URI. Plan: fluids, rest."), n_problems=1)
    assert out.code == "99212" and out.risk == "minimal"


def test_chronic_problems_with_prescription_management_is_moderate():
    text = ("A/P: 1. Essential hypertension - uncontrolled, increase amlodipine to 10 mg. "
            "2. Hypothyroidism - increase levothyroxine to 88 mcg. Labs: TSH, BMP reviewed.")
    out = em_level(enc(text), n_problems=2)
    assert out.code == "99214" and out.problems == "moderate" and out.risk == "moderate"


def test_new_patient_and_time_basis():
    text = "NEW PATIENT visit. Assessment: ankle sprain. Ibuprofen. Total time 50 minutes on the date of service."
    out = em_level(enc(text), n_problems=1)
    assert out.code == "99204" and out.basis == "time" and out.minutes == 50


def test_ed_high_mdm():
    text = "Sepsis due to UTI. Lactate, CBC, BMP, cultures reviewed. CXR my interpretation: clear. Admit to ICU."
    out = em_level(enc(text, Setting.ed), n_problems=2)
    assert out.code == "99285"


def test_no_leveling_for_inpatient_or_radiology():
    assert em_level(enc("IMPRESSION: normal.", Setting.radiology), 1).code is None
