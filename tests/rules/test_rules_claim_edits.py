from __future__ import annotations

from medcore.model import ProcedureLine, Severity


def test_no_diagnosis(scrub_codes):
    [f] = scrub_codes([])
    assert (f.rule_id, f.severity, f.carc) == ("CLAIM.NO_DIAGNOSIS", Severity.error, "16")


def test_pointer_past_the_diagnosis_list(scrub_codes):
    lines = [ProcedureLine(code="99213", dx_pointers=[1, 2]), ProcedureLine(code="82947", dx_pointers=[3])]
    [f] = scrub_codes(["E11.9", "I10"], procedures=lines)
    assert (f.rule_id, f.severity, f.codes) == ("CLAIM.DX_POINTER", Severity.error, ["82947"])
    assert "Line 2" in f.message and "position(s) 3" in f.message


def test_repeated_pointer(scrub_codes):
    [f] = scrub_codes(["E11.9", "I10"], procedures=[ProcedureLine(code="99213", dx_pointers=[1, 1])])
    assert f.rule_id == "CLAIM.DX_POINTER"
    assert "repeats" in f.message


def test_valid_pointers_are_clean(scrub_codes):
    lines = [ProcedureLine(code="99213", dx_pointers=[1, 2, 3])]
    assert scrub_codes(["E11.9", "I10", "Z79.84"], procedures=lines) == []


def test_more_than_twelve_diagnoses(scrub_codes):
    codes = ["E11.9", "I10", "Z79.84", "E78.5", "K21.9", "M54.50", "F32.A", "J06.9",
             "R51.9", "R05.9", "J30.9", "L70.0", "H52.4"]
    [f] = scrub_codes(codes, age=58, sex="M")
    assert f.rule_id == "CLAIM.DX_POINTER"
    assert f.codes == ["H52.4"]
