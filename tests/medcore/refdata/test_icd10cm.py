from datetime import date

import pytest

from medcore.errors import CodeSetUnavailable
from medcore.refdata.icd10cm import CodeRange, nodot, parse_code_refs, read_code_list
from medcore.refdata.releases import codeset_for, releases, select_release


@pytest.fixture(scope="module")
def cs():
    return codeset_for(date(2026, 6, 1))


def test_billable_set_matches_the_official_code_list(cs):
    rel = releases()[-1]
    listed = read_code_list(rel.code_list)
    billable = {nodot(e.code) for e in cs.billable_codes()}
    assert billable <= listed
    assert 74_000 < len(billable) < 75_500
    # every listed code that is a leaf of the hierarchy is billable
    assert "E119" in billable and "E11" not in billable and "E11" in listed


def test_seventh_characters_are_generated_and_vetted(cs):
    assert cs.is_billable("S52.501A")
    assert cs.get("S52.501A").description.endswith("initial encounter for closed fracture")
    assert not cs.is_billable("S52.501")  # needs its 7th character
    assert cs.is_billable("T81.40XA")  # placeholder X padding
    # the code list excludes D and S for death-before-consciousness S06 codes
    assert cs.is_billable("S06.1X7A") and cs.get("S06.1X7D") is None


def test_hierarchy_chapter_and_notes(cs):
    assert [a.code for a in cs.ancestors("E11.9")] == ["E11"]
    assert cs.chapter_of("E11.9").number == "4"
    assert any("E10" == r.lo for r in cs.excludes1("E11.9"))
    assert cs.seven_chr_for("S52.501")["A"].startswith("initial encounter")
    assert "Classical cholera" in cs.get("A00.0").notes["inclusion_terms"]


def test_index_paths_are_rebuilt_from_levels(cs):
    paths = {e.path: e for e in cs.index}
    e = paths["Pneumonia, aspiration, due to, food"]
    assert e.code == "J69.0" and e.status == "valid"
    assert "Pneumonia, aspiration, due to, food" in cs.get("J69.0").index_terms


def test_index_codes_that_are_headers_are_flagged(cs):
    flagged = [e for e in cs.index if e.status in ("incomplete", "expanded")]
    assert flagged, "the FY2025 index points at header codes that must be flagged"
    assert all(not cs.get(e.code).billable for e in flagged)


def test_code_refs_in_notes():
    refs = parse_code_refs("diabetes mellitus due to underlying condition (E08.-) and neonatal (P70.2); O00-O9A")
    assert CodeRange("E08", "E08") in refs and CodeRange("P702", "P702") in refs
    assert CodeRange("O00", "O9A").contains("O80")
    assert not CodeRange("O00", "O9A").contains("P00")


def test_release_selection_by_date_of_service():
    assert not select_release(date(2026, 4, 1)).approximate
    assert not select_release(date(2026, 9, 30)).approximate
    # FY2026 started 2025-10-01; only its April update ships, so it is used and flagged
    assert select_release(date(2025, 10, 1)).approximate
    with pytest.raises(CodeSetUnavailable, match="2019-05-01"):
        select_release(date(2019, 5, 1))
    with pytest.raises(CodeSetUnavailable):
        select_release(date(2026, 10, 1))  # FY2027 is not shipped


def test_neoplasm_table_cells_become_index_paths(cs):
    assert "Neoplasm, malignant, prostate" in cs.get("C61").index_terms
    assert "Neoplasm, secondary malignant, liver" in cs.get("C78.7").index_terms
    assert "Neoplasm, malignant, liver" in cs.get("C22.9").index_terms
    # a cell that stops at a header ("C34.1-") is kept as an incomplete entry of that header
    upper_lobe = [e for e in cs.index if e.path == "Neoplasm, malignant, lung, upper lobe"]
    assert upper_lobe and upper_lobe[0].code == "C34.1" and upper_lobe[0].status == "incomplete"
