from __future__ import annotations

from datetime import date

from medcore.model import Severity, Sex
from rules.demographics import default_demographics, load_demographics, tabular_sex


def test_demographics_file_is_versioned_and_cites_mce():
    edits = default_demographics()
    assert edits.version == "2026.04-1"
    text = (load_demographics.__defaults__[0]).read_text()
    assert "Medicare Code Editor" in text


def test_maternity_code_on_male_is_sex_conflict(scrub_codes):
    [f] = scrub_codes(["O80"], age=28, sex="M")
    assert (f.rule_id, f.severity, f.carc, f.codes) == ("ICD.SEX", Severity.error, "10", ["O80"])
    assert "female-only" in f.message


def test_male_only_range_on_female(scrub_codes):
    [f] = scrub_codes(["N40.0"], age=66, sex="F")
    assert (f.rule_id, f.severity, f.codes) == ("ICD.SEX", Severity.error, ["N40.0"])


def test_maternity_code_at_70_is_age_conflict(scrub_codes):
    [f] = scrub_codes(["O80"], age=70, sex="F")
    assert (f.rule_id, f.severity, f.carc, f.codes) == ("ICD.AGE", Severity.error, "9", ["O80"])
    assert "9-64" in f.message
    assert "70" not in f.message  # no exact age in messages


def test_maternity_code_outside_typical_ages_is_only_a_warning(scrub_codes):
    [f] = scrub_codes(["O80"], age=58, sex="F")
    assert (f.rule_id, f.severity) == ("ICD.AGE", Severity.warning)


def test_well_child_exam_for_adult_is_age_conflict(scrub_codes):
    [f] = scrub_codes(["Z00.121"], age=40, sex="F")
    assert (f.rule_id, f.severity, f.codes) == ("ICD.AGE", Severity.error, ["Z00.121"])
    assert "0-17" in f.message
    assert "Z00.0-" in f.fix


def test_well_child_exam_for_child_is_clean(scrub_codes):
    assert scrub_codes(["Z00.121"], age=6, sex="F") == []


def test_age_comes_from_birth_date_on_dos(scrub_codes):
    # 17 on the date of service (birthday the day after), so still pediatric
    assert scrub_codes(["Z00.129"], age=None, birth_date=date(2008, 5, 2)) == []
    [f] = scrub_codes(["Z00.129"], age=None, birth_date=date(2008, 5, 1))
    assert f.rule_id == "ICD.AGE"


def test_perinatal_code_in_adult_is_a_warning_not_an_error(scrub_codes):
    [f] = scrub_codes(["P07.30"], age=30, sex="F")
    assert (f.rule_id, f.severity) == ("ICD.AGE", Severity.warning)
    assert "I.C.16.a.4" in f.fix


def test_unknown_age_and_sex_skip_the_checks(scrub_codes):
    assert scrub_codes(["O80", "Z00.121"], age=None, sex=Sex.unknown) == []


def test_tabular_sex_hints(codeset):
    assert tabular_sex(codeset, "C50.011") is Sex.female  # "... right female breast"
    assert tabular_sex(codeset, "C57.0") is Sex.female  # under C57 "... female genital organs"
    assert tabular_sex(codeset, "D29.1") is Sex.male  # under D29 "... male genital organs"
    assert tabular_sex(codeset, "Y07.030") is Sex.unknown  # a perpetrator, not the patient
    assert tabular_sex(codeset, "Q98.1") is Sex.unknown  # chromosome phenotype
    assert tabular_sex(codeset, "N39.3") is Sex.unknown  # "(female) (male)"
    assert tabular_sex(codeset, "E11.9") is Sex.unknown


def test_tabular_sex_hint_fires_only_as_warning(scrub_codes):
    [f] = scrub_codes(["C50.011"], age=60, sex="M")
    assert (f.rule_id, f.severity, f.codes) == ("ICD.SEX", Severity.warning, ["C50.011"])
