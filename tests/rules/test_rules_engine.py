from __future__ import annotations

from datetime import date

import pytest

from medcore.model import Severity
from rules import RULES, PackError, RulePack, RuleSetting, default_pack, scrub


def test_dos_without_release_is_a_finding_not_an_exception(encounter):
    findings = scrub(encounter(["E11.9", "XYZ.1"], dos=date(2019, 6, 1)))
    assert [f.rule_id for f in findings] == ["ICD.NO_CODESET_FOR_DOS"]
    [f] = findings
    assert f.severity is Severity.error
    assert "FY2019" in f.message and "FY2026-April" in f.message
    assert "2019-06-01" not in f.message  # the date of service is PHI


def test_claim_rules_still_run_without_a_release(encounter):
    findings = scrub(encounter([], dos=date(2019, 6, 1)))
    assert [f.rule_id for f in findings] == ["ICD.NO_CODESET_FOR_DOS", "CLAIM.NO_DIAGNOSIS"]


def test_approximate_release_is_a_warning(encounter):
    # FY2026 before the April update: only FY2026-April is shipped
    [f] = scrub(encounter(["E11.9", "I10"], dos=date(2025, 12, 1)))
    assert (f.rule_id, f.severity) == ("ICD.APPROXIMATE_RELEASE", Severity.warning)
    assert "FY2026-April" in f.message


def test_default_release_matches_dos(encounter):
    assert scrub(encounter(["E11.9", "I10", "Z79.84"])) == []
    [f] = scrub(encounter(["E11"]))
    assert f.rule_id == "ICD.BILLABLE"


def test_findings_follow_pack_order(scrub_codes):
    findings = scrub_codes(["W19.XXXA", "XYZ.1", "O80"], age=70, sex="M")
    assert [f.rule_id for f in findings] == [
        "ICD.INVALID_FOR_DOS", "ICD.AGE", "ICD.SEX", "ICD.EXTERNAL_CAUSE_FIRST"
    ]


def test_pack_lowers_severity_and_disables(encounter, codeset):
    override = RulePack("payer", "1", {"ICD.SEX": RuleSetting(severity=Severity.warning),
                                       "ICD.AGE": RuleSetting(enabled=False)})
    pack = default_pack().layer(override)
    [f] = scrub(encounter(["O80"], age=70, sex="M"), codeset=codeset, pack=pack)
    assert (f.rule_id, f.severity) == ("ICD.SEX", Severity.warning)


def test_pack_cannot_raise_a_hit_that_is_only_a_warning(encounter, codeset):
    pack = default_pack().layer(RulePack("p", "1", {"ICD.AGE": RuleSetting(severity=Severity.error)}))
    [f] = scrub(encounter(["P07.30"], age=30, sex="F"), codeset=codeset, pack=pack)
    assert f.severity is Severity.warning


def test_unknown_rule_in_pack_fails_loudly(encounter, codeset):
    with pytest.raises(PackError, match="ICD.NOPE"):
        scrub(encounter(["E11.9"]), codeset=codeset, pack=RulePack("bad", "1", {"ICD.NOPE": RuleSetting()}))


def test_every_pack_rule_exists_and_every_rule_is_in_the_pack():
    assert list(default_pack().rules) and set(default_pack().rules) == set(RULES)


def test_messages_carry_no_phi(encounter, codeset):
    from medcore.model import Note, Patient

    enc = encounter(["O80", "Z00.121", "E10.9", "E11.9", "G63"], age=None, sex="M").model_copy(
        update={
            "patient": Patient(name="Jane Q Doe", birth_date=date(1930, 2, 3), sex="M", member_id="MBR99887"),
            "notes": [Note(text="Patient Jane Q Doe reports numbness.")],
        }
    )
    findings = scrub(enc, codeset=codeset)
    assert {f.rule_id for f in findings} >= {"ICD.SEX", "ICD.AGE", "ICD.EXCLUDES1"}
    blob = " ".join(f.message + " " + f.fix for f in findings)
    for phi in ("Jane", "Doe", "1930", "MBR99887", "numbness", "96"):
        assert phi not in blob


CARC = {
    "ICD.INVALID_FOR_DOS": "146",  # diagnosis was invalid for the date(s) of service reported
    "ICD.AGE": "9",  # the diagnosis is inconsistent with the patient's age
    "ICD.SEX": "10",  # the diagnosis is inconsistent with the patient's gender
    "ICD.BILLABLE": "16",  # claim lacks information or has submission/billing error(s)
}


@pytest.mark.parametrize(("rule_id", "carc"), CARC.items())
def test_carc_codes(rule_id, carc):
    assert RULES[rule_id].carc == carc
