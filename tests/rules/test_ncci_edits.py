from __future__ import annotations

from medcore.model import Severity


def ids(findings):
    return [f.rule_id for f in findings]


def test_ptp_indicator_1_fires_without_a_modifier(scrub_claim, claim, line):
    [f] = scrub_claim(claim([line("43239"), line("43235")], ("K21.9",)))
    assert (f.rule_id, f.severity, f.carc) == ("NCCI.PTP", Severity.error, "97")
    assert f.codes == ["43239", "43235"]
    assert "59" in f.fix


def test_ptp_indicator_1_bypassed_by_ncci_modifiers(scrub_claim, claim, line):
    for mod in ("59", "XE", "XS", "XP", "XU"):
        assert scrub_claim(claim([line("43239"), line("43235", mod)], ("K21.9",))) == []


def test_ptp_indicator_1_not_bypassed_by_other_modifiers(scrub_claim, claim, line):
    assert ids(scrub_claim(claim([line("43239"), line("43235", "76")], ("K21.9",)))) == ["NCCI.PTP"]


def test_ptp_indicator_0_is_never_bypassed(scrub_claim, claim, line):
    f = scrub_claim(claim([line("93000"), line("93005", "59")], ("R00.2",)))
    assert ids(f) == ["NCCI.PTP"] and "indicator 0" in f[0].fix


def test_ptp_indicator_9_and_deleted_edits_do_not_fire(scrub_claim, claim, line):
    assert scrub_claim(claim([line("97530"), line("97140")], ("M79.18",))) == []
    assert scrub_claim(claim([line("12001"), line("11042")], ("L97.412",))) == []


def test_ptp_em_in_column_2_is_separated_by_25(scrub_claim, claim, line):
    assert ids(scrub_claim(claim([line("11042"), line("99213")], ("L97.412",)))) == ["NCCI.PTP", "EM.MODIFIER_25"]
    assert scrub_claim(claim([line("11042"), line("99213", "25")], ("L97.412",))) == []


def test_ptp_needs_the_same_date(scrub_claim, claim, line):
    from datetime import date

    second = line("43235").model_copy(update={"service_date": date(2026, 5, 2)})
    assert scrub_claim(claim([line("43239"), second], ("K21.9",))) == []


def test_mue_mai_1_is_per_line(scrub_claim, claim, line):
    [f] = scrub_claim(claim([line("94640", units=5)], ("J44.1",)))
    assert (f.rule_id, f.carc) == ("NCCI.MUE", "151")
    assert "1 Line Edit" in f.message
    # two lines of 4 each pass a line edit
    assert scrub_claim(claim([line("94640", units=4), line("94640", "76", units=4)], ("J44.1",))) == []


def test_mue_mai_2_and_3_sum_the_day(scrub_claim, claim, line):
    [f] = scrub_claim(claim([line("36415", units=2), line("36415", "91")], ("E11.9",)))
    assert f.rule_id == "NCCI.MUE" and "3 units" in f.message and "Policy" in f.message
    [f] = scrub_claim(claim([line("20610", "RT", units=2), line("20610", "LT")]))
    assert f.rule_id == "NCCI.MUE" and "Clinical" in f.message
    assert scrub_claim(claim([line("20610", "RT"), line("20610", "LT")], ("M17.0",))) == []


def test_medicaid_partial_mue_is_an_error_for_medicaid_and_a_warning_otherwise(scrub_claim, claim, line):
    lines = [line("90471", units=2), line("90686")]
    [f] = scrub_claim(claim(lines, ("Z23",), kind="medicaid", member_id="MCD7770001"))
    assert (f.rule_id, f.severity) == ("NCCI.MUE", Severity.error)
    assert "partial Medicaid" in f.message
    [f] = scrub_claim(claim(lines, ("Z23",), kind="commercial"))
    assert (f.rule_id, f.severity) == ("NCCI.MUE", Severity.warning)


def test_add_on_without_primary(scrub_claim, claim, line):
    [f] = scrub_claim(claim([line("99214"), line("99417")], ("E11.65",), kind="commercial"))
    assert (f.rule_id, f.codes, f.carc) == ("NCCI.ADD_ON", ["99417"], "107")
    assert "99205" in f.message and "99215" in f.message
    assert scrub_claim(claim([line("99215"), line("99417")], ("E11.65",), kind="commercial")) == []
    assert ids(scrub_claim(claim([line("11045")], ("L97.412",)))) == ["NCCI.ADD_ON"]
    assert scrub_claim(claim([line("11042"), line("11045")], ("L97.412",))) == []


def test_modifier_25(scrub_claim, claim, line):
    [f] = scrub_claim(claim([line("99213"), line("20610", "RT")]))
    assert (f.rule_id, f.codes, f.carc) == ("EM.MODIFIER_25", ["99213", "20610"], "4")
    assert scrub_claim(claim([line("99213", "25"), line("20610", "RT")])) == []


def test_modifier_25_not_needed_for_lab_radiology_venipuncture_drugs(scrub_claim, claim, line):
    lines = [line("99214"), line("83036"), line("36415"), line("71046"), line("J3301", units=4),
             line("90686"), line("3074F")]
    assert scrub_claim(claim(lines, ("E11.9",))) == []


def test_no_ncci_data_means_no_ptp_findings(codeset, claim, line):
    from datetime import date

    from rules import scrub
    from rules.ncci import NCCIStore

    enc = claim([line("43239"), line("43235")], ("K21.9",))
    assert scrub(enc, codeset=codeset, ncci=NCCIStore(None), today=date(2026, 6, 15)) == []
