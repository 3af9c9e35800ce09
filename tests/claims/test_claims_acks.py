"""999 and 277 parsing: published samples and pyx12's own 999 for a broken 837P."""

from __future__ import annotations

from pathlib import Path

import pytest

from claims.acks import parse_277, parse_999
from claims.x837p.build import build_837p, claim_from_encounter
from claims.x837p.validate import validate_837p
from medcore.model import Encounter

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "x12"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/x12 is not present")


@needs_shared
def test_published_999_samples() -> None:
    files = sorted((SHARED / "pyx12").glob("*999*"))
    assert files
    for path in files:
        for ack in parse_999(path.read_text()):
            assert ack.accepted and ack.status == "A" and ack.outcome == "accepted"
            assert ack.transactions and all(t.accepted and not t.segment_errors for t in ack.transactions)


@needs_shared
def test_published_277_samples() -> None:
    acks = parse_277((SHARED / "linuxforhealth" / "277_005010X212" / "claim-level-status.277").read_text())
    claims = acks[0].claims
    assert [c.claim_id for c in claims] == ["ABCXYZ1", "ABCXYZ2", "ABCXYC3"]
    assert claims[0].codes[0].category == "P3" and claims[0].codes[0].status == "317"
    assert claims[0].payer_claim_number == "05347006051"
    assert claims[2].codes[0].entity == "QC"
    assert all(c.accepted is None for c in claims)  # status-response categories, not 277CA ones
    for path in sorted((SHARED / "linuxforhealth" / "277_005010X212").glob("*.277")):
        assert parse_277(path.read_text())


def test_277ca_categories() -> None:
    head = ("ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*MEDCODE01      *260306*1000*^*00501*000000005*0*T*:~"
            "GS*HN*CLEARHOUSE*MEDCODE01*20260306*1000*5*X*005010X214~ST*277*0001*005010X214~HL*1**20*1~HL*2*1*21*1~"
            "STC*A1:19*20260306*WQ*300~HL*3*2*19*1~")
    body = "".join(
        f"HL*{4 + i}*3*PT~TRN*2*C{i}~STC*{cat}:{code}*20260306*{'WQ' if cat == 'A2' else 'U'}*100~"
        for i, (cat, code) in enumerate([("A2", "20"), ("A3", "21"), ("A6", "35"), ("A7", "562:85"), ("A4", "15"), ("A1", "19")])
    )
    ack = parse_277(head + body + "SE*20*0001~GE*1*5~IEA*1*000000005~")[0]
    assert ack.batch_codes[0].category == "A1"
    assert [c.accepted for c in ack.claims] == [True, False, False, False, False, True]
    assert ack.claim("C3").codes[0].entity == "85" and ack.claim("C1").action_code == "U"


def test_pyx12_999_for_a_broken_837p(office_visit: Encounter, settings, created) -> None:
    x12 = build_837p([(office_visit, claim_from_encounter(office_visit))], settings=settings, created=created)
    bad = x12.replace("DTP*472*D8*20260302", "DTP*472*D8*20261399")
    ack = parse_999(validate_837p(bad).ack_999)[0]
    assert ack.status == "R" and not ack.accepted and ack.functional_id == "HC" and ack.version == "005010X222A1"
    txn = ack.transactions[0]
    assert txn.transaction_set_id == "837" and txn.status == "R"
    assert [e.segment_id for e in txn.segment_errors] == ["DTP", "DTP", "DTP"]
    assert {(el.position, el.element_reference, el.code) for e in txn.segment_errors for el in e.elements} == {(3, "1251", "8")}


def test_not_a_999() -> None:
    with pytest.raises(ValueError):
        parse_999("hello")
