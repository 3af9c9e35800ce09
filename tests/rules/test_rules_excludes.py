from __future__ import annotations

from medcore.model import Severity
from medcore.refdata.icd10cm import CodeRange
from rules.excludes import excluded_by, parse_code_refs


def test_type1_and_type2_diabetes_together_is_excludes1(scrub_codes):
    [f] = scrub_codes(["E10.9", "E11.9"], age=40, sex="F")
    assert (f.rule_id, f.severity, f.carc) == ("ICD.EXCLUDES1", Severity.error, "16")
    assert f.codes == ["E10.9", "E11.9"]
    assert f.fix.startswith("Keep E10.9 (listed first) and remove E11.9")
    assert "I.A.12.a" in f.fix


def test_pair_is_reported_once(scrub_codes):
    # E10 excludes E11 and E11 excludes E10: one finding, not two
    assert len(scrub_codes(["E11.9", "E10.9", "I10"])) == 1


def test_qualified_range_is_expanded_not_over_read(codeset):
    # G63 Excludes1 "diabetes mellitus (E08-E13 with .42)"
    assert excluded_by(codeset, "G63", "E11.42")
    assert not excluded_by(codeset, "G63", "E11.9")


def test_ranges_cover_their_middle(codeset):
    # E10 Excludes1 "... (E08.-)", "(E13.-)": and the range parser must keep E08-E13 whole
    assert parse_code_refs("(E08-E13)") == [CodeRange("E08", "E13")]
    assert parse_code_refs("(R10.0-R10.9)") == [CodeRange("R100", "R109")]
    assert parse_code_refs("(E08.-)") == [CodeRange("E08", "E08")]


def test_never_against_itself_or_own_subtree(codeset):
    assert not excluded_by(codeset, "E11.9", "E11.9")
    # D72 Excludes1 "basophilia (D72.824)" although D72.824 sits under D72
    assert not excluded_by(codeset, "D72.1", "D72.824")


def test_cross_chapter_pointer_is_ignored(codeset):
    # T88.7 Excludes1 "specified adverse effects ... (A00-R94 and T80-T88.6, T88.8)"
    assert not excluded_by(codeset, "T88.7", "I10")
    assert excluded_by(codeset, "T88.7", "T88.8")


def test_duplicate_code_is_not_an_excludes1_pair(scrub_codes):
    assert scrub_codes(["E11.9", "E11.9"]) == []
