from __future__ import annotations

from datetime import date, datetime

from medcore.model import Patient
from rules.eligibility import (
    EligibilityClient,
    EligibilityStatus,
    LocalEligibilitySimulator,
    build_270,
    parse_271,
)

NOW = datetime(2026, 6, 15, 9, 30)


def _segments(x12: str) -> list[list[str]]:
    return [s.strip().split("*") for s in x12.split("~") if s.strip()]


def test_270_envelope_and_structure(claim, line):
    enc = claim([line("99213")], ("I10",)).model_copy(update={"patient": Patient(
        name="TESTPATIENT^ALEX", birth_date=date(1960, 2, 14), sex="F", member_id="1EG4TE5MK72")})
    x12 = build_270(enc, now=NOW, control_number=7)
    assert len(x12.split("~")[0]) == 105 and x12[105] == "~"  # fixed-width ISA
    segs = _segments(x12)
    tags = [s[0] for s in segs]
    assert tags == ["ISA", "GS", "ST", "BHT", "HL", "NM1", "HL", "NM1", "HL", "TRN", "NM1", "DMG", "DTP", "EQ",
                    "SE", "GE", "IEA"]
    gs = segs[1]
    assert gs[1] == "HS" and gs[8] == "005010X279A1"
    st = segs[2]
    assert st[1:] == ["270", "0007", "005010X279A1"]
    se = segs[tags.index("SE")]
    assert int(se[1]) == tags.index("SE") - 2 + 1 and se[2] == "0007"  # ST..SE inclusive
    assert segs[tags.index("TRN")][3] == "9123456789"  # 10-character originator id
    assert ["DTP", "291", "D8", "20260501"] in segs and ["EQ", "30"] in segs
    assert segs[-1] == ["IEA", "1", "000000007"]


def test_271_parsing():
    assert parse_271("ST*271*1~EB*1*IND*30**PLAN A~SE*2*1~").status is EligibilityStatus.active
    r = parse_271("ST*271*1~EB*6*IND*30~SE*2*1~")
    assert r.status is EligibilityStatus.inactive and not r.active
    r = parse_271("ST*271*1~AAA*N**75*C~SE*2*1~")
    assert r.status is EligibilityStatus.not_found and r.reject_reasons == ("75",)
    assert parse_271("ST*271*1~SE*1*1~").status is EligibilityStatus.unknown


def test_simulator_answers_from_the_roster(claim, line):
    sim = LocalEligibilitySimulator()
    assert isinstance(sim, EligibilityClient)
    assert sim.check(claim([line("99213")], ("I10",))).active
    assert sim.check(claim([line("99213")], ("I10",), member_id="MBR999001")).status is EligibilityStatus.inactive
    assert sim.check(claim([line("99213")], ("I10",), member_id="NOPE1")).status is EligibilityStatus.not_found
    # a coverage window that ends before the date of service
    late = claim([line("99213")], ("I10",), member_id="MBR555000", dos=date(2027, 1, 5))
    assert sim.check(late).status is EligibilityStatus.inactive
    assert sim.requests and sim.requests[-1].startswith("ISA*")


def test_eligibility_rule_is_off_unless_a_client_is_passed(scrub_claim, claim, line):
    enc = claim([line("99213")], ("I10",), member_id="MBR999001")
    assert scrub_claim(enc) == []
    [f] = scrub_claim(enc, eligibility=LocalEligibilitySimulator())
    assert (f.rule_id, f.carc) == ("PAYER.ELIGIBILITY", "27")
    assert "MBR999001" not in f.message + f.fix
    [f] = scrub_claim(claim([line("99213")], ("I10",), member_id="NOPE1"), eligibility=LocalEligibilitySimulator())
    assert f.carc == "31" and "NOPE1" not in f.message


def test_a_failing_client_is_a_warning(scrub_claim, claim, line):
    class Broken:
        def check(self, encounter):
            raise ConnectionError("clearinghouse down")

    [f] = scrub_claim(claim([line("99213")], ("I10",)), eligibility=Broken())
    assert f.rule_id == "PAYER.ELIGIBILITY" and f.severity.value == "warning"
