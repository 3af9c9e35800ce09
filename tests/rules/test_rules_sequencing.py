from __future__ import annotations

from medcore.model import Severity
from rules.sequencing import is_external_cause, manifestation_kind


def test_manifestation_first_is_an_error(scrub_codes):
    [f] = scrub_codes(["G63", "E85.4"])
    assert (f.rule_id, f.severity, f.codes) == ("ICD.MANIFESTATION_FIRST", Severity.error, ["G63"])
    assert "E85.4" in f.fix
    assert "code first underlying disease" in f.fix


def test_manifestation_second_is_clean(scrub_codes):
    assert scrub_codes(["E85.4", "G63"]) == []


def test_manifestation_inherited_from_category_title(codeset):
    assert manifestation_kind(codeset, "D63.1") == "manifestation"  # under D63 "... classified elsewhere"
    assert manifestation_kind(codeset, "F02.80") == "manifestation"
    assert manifestation_kind(codeset, "B96.20") == "supplementary"
    # "code first underlying condition" alone does not make a manifestation
    assert manifestation_kind(codeset, "E08.9") is None
    assert manifestation_kind(codeset, "I46.2") is None


def test_supplementary_organism_code_first(scrub_codes):
    [f] = scrub_codes(["B96.20", "N39.0"], sex="F")
    assert (f.rule_id, f.codes) == ("ICD.MANIFESTATION_FIRST", ["B96.20"])


def test_external_cause_first_is_an_error(scrub_codes):
    [f] = scrub_codes(["W19.XXXA", "S52.501A"])
    assert (f.rule_id, f.severity, f.codes) == ("ICD.EXTERNAL_CAUSE_FIRST", Severity.error, ["W19.XXXA"])
    assert "S52.501A" in f.fix


def test_external_cause_after_injury_is_clean(scrub_codes):
    assert scrub_codes(["S52.501A", "W19.XXXA"]) == []


def test_external_cause_chapter(codeset):
    assert is_external_cause(codeset, "Y92.009")
    assert not is_external_cause(codeset, "S52.501A")
