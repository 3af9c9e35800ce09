from __future__ import annotations

import pytest

from medcore.model import Severity

CLEAN_CLAIMS = [
    (["E11.9", "I10", "Z79.84"], 58, "M"),
    (["S52.501A"], 34, "M"),
    (["O80", "Z37.0"], 28, "F"),
]


@pytest.mark.parametrize(("codes", "age", "sex"), CLEAN_CLAIMS)
def test_clean_claims_have_no_findings(scrub_codes, codes, age, sex):
    assert scrub_codes(codes, age=age, sex=sex) == []


def test_header_code_is_not_billable_and_fix_lists_billable_descendants(scrub_codes, codeset):
    [f] = scrub_codes(["E11"])
    assert f.rule_id == "ICD.BILLABLE"
    assert f.severity is Severity.error
    assert f.codes == ["E11"]
    assert f.carc == "16"
    suggested = f.fix.split("e.g. ")[1].rstrip(".").split(", ")
    assert len(suggested) == 5
    assert "E11.9" in suggested
    assert all(codeset.is_billable(c) and c.startswith("E11.") for c in suggested)


def test_bogus_code_is_invalid_for_dos(scrub_codes):
    [f] = scrub_codes(["XYZ.1"])
    assert f.rule_id == "ICD.INVALID_FOR_DOS"
    assert f.codes == ["XYZ.1"]
    assert f.carc == "146"
    assert "FY2026-April" in f.message


def test_unknown_code_under_a_real_category_points_at_it(scrub_codes):
    [f] = scrub_codes(["E11.99"])
    assert f.rule_id == "ICD.INVALID_FOR_DOS"
    assert "E11.9" in f.fix


def test_invalid_seventh_character_lists_valid_ones(scrub_codes):
    [f] = scrub_codes(["S52.501Z"])
    assert f.rule_id == "ICD.SEVENTH_CHAR"
    assert f.codes == ["S52.501Z"]
    assert "'Z'" in f.message
    assert f.fix == "Use one of the valid 7th characters: A, B, C, D, E, F, G, H, J, K, M, N, P, Q, R, S."


def test_missing_seventh_character(scrub_codes):
    [f] = scrub_codes(["S52.501"])
    assert f.rule_id == "ICD.SEVENTH_CHAR"
    assert "S52.501A" in f.fix


def test_missing_placeholder_x(scrub_codes):
    [f] = scrub_codes(["S52.501A", "W19A"])
    assert f.rule_id == "ICD.SEVENTH_CHAR"
    assert f.codes == ["W19A"]
    assert f.fix == "Use W19.XXXA."


def test_placeholder_category_with_bad_seventh_character(scrub_codes):
    [f] = scrub_codes(["S52.501A", "W19.XXXQ"])
    assert f.rule_id == "ICD.SEVENTH_CHAR"
    assert f.fix.endswith("A, D, S.")
