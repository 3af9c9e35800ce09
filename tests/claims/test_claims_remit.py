"""835 parsing (published samples, the simulator's own output) and CARC/RARC categories."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from claims.remit import Category, load_catalog, parse_835
from claims.x837p.validate import validate_837p

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "x12"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "x12"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/x12 is not present")


def _shared_835s() -> list[Path]:
    if not SHARED.is_dir():
        return []
    return [*sorted((SHARED / "linuxforhealth" / "835_005010X221A1").glob("*.835")), SHARED / "pyx12" / "835_mult_loops.txt"]


@needs_shared
@pytest.mark.parametrize("path", _shared_835s(), ids=lambda p: p.name)
def test_shared_835_samples_parse_and_balance(path: Path) -> None:
    remittances = parse_835(path.read_text())
    assert remittances and all(r.claims for r in remittances)
    for r in remittances:
        assert r.catalog_version == load_catalog().version
        for claim in r.claims:
            assert claim.balanced, claim.claim_id
            assert claim.status in ("paid", "partial", "denied", "reversed")


@needs_shared
def test_managed_care_sample_values() -> None:
    (r,) = parse_835((SHARED / "linuxforhealth" / "835_005010X221A1" / "managed-care.835").read_text())
    assert r.payment_amount == Decimal("945.00") and r.payment_method == "ACH" and r.trace_number == "7170066655"
    first, second = r.claims
    assert (first.claim_id, first.status_code, first.charge, first.paid, first.patient_responsibility) == (
        "5554555444", "1", Decimal("800.00"), Decimal("450.00"), Decimal("300.00"))
    assert [a.label for a in first.adjustments] == ["CO-A2"]  # claim level
    assert [(a.label, a.category) for a in first.services[0].adjustments] == [("PR-1", Category.patient_responsibility)]
    assert first.services[0].code == "99211" and first.status == "paid" and first.denial_categories == []
    assert sum(c.paid for c in r.claims) == r.payment_amount
    assert [a.label for a in second.services[0].adjustments] == ["PR-1", "CO-45"]


@needs_shared
def test_samples_with_alternate_component_separator_and_triplets() -> None:
    (r,) = parse_835((SHARED / "linuxforhealth" / "835_005010X221A1" / "secondary-payment.835").read_text())
    line = r.claims[1].services[1]
    assert (line.code, line.modifiers) == ("66543", ["26"])  # SVC01 written with '>' though ISA16 is ':'
    assert [(a.label, a.amount) for a in line.adjustments] == [
        ("PR-1", Decimal("150.00")), ("PR-2", Decimal("70.00")), ("CO-42", Decimal("85.00"))]
    assert line.allowed == Decimal("500.00")


@needs_shared
def test_denied_sample_with_lq_remarks_and_moa() -> None:
    (r,) = parse_835((SHARED / "pyx12" / "835_mult_loops.txt").read_text())
    claim = r.claims[0]
    assert claim.status == "denied" and claim.status_code == "4" and len(claim.services) == 3
    assert claim.services[0].adjustments[0].label == "CO-16" and claim.services[0].remarks == ["N14"]
    assert claim.denied_amount == Decimal("915.39")
    (part_a,) = parse_835((SHARED / "linuxforhealth" / "835_005010X221A1" / "medicare-part-a.835").read_text())
    assert part_a.claims[1].remarks == ["MA02"]
    assert part_a.provider_adjustments[0].reason == "CV" and part_a.provider_adjustments[0].amount == Decimal("-1.27")


def test_simulator_denials_fixture() -> None:
    text = (FIXTURES / "simulator_denials.835").read_text()
    assert validate_837p(text).valid  # pyx12 picks the 835 X221A1 map from GS08
    by_id = {c.claim_id: c for r in parse_835(text) for c in r.claims}
    assert by_id["DEN-0001"].status == "partial" and by_id["DEN-0001"].denial_categories == [Category.medical_necessity]
    assert by_id["DEN-0002"].status == "denied" and by_id["DEN-0002"].status_code == "4"
    assert by_id["DEN-0002"].denial_categories == [Category.prior_authorization]
    assert by_id["DEN-0002"].services[0].remarks == ["M62"]
    assert by_id["DEN-0003"].denial_categories == [Category.coding_error]
    assert by_id["DEN-0003"].denied_amount == Decimal("160")
    assert all(c.balanced for c in by_id.values())


def test_six_triplets_in_one_cas() -> None:
    text = (
        "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROV           *260310*0800*^*00501*000000001*0*T*:~"
        "GS*HP*PAYER*PROV*20260310*0800*1*X*005010X221A1~ST*835*0001~BPR*I*10*C*CHK************20260310~"
        "TRN*1*T1*1999999999~N1*PR*PAYER~N1*PE*PROV*XX*1234567893~LX*1~CLP*X1*1*100*10**12*P1~MOA***MA130*N130~"
        "SVC*HC:99213*100*10**1~CAS*CO*45*10**59*10**97*10**A2*10**253*10**16*40~LQ*HE*M15~"
        "SE*12*0001~GE*1*1~IEA*1*000000001~"
    )
    (claim,) = parse_835(text)[0].claims
    adjustments = claim.services[0].adjustments
    assert [a.carc for a in adjustments] == ["45", "59", "97", "A2", "253", "16"]
    assert claim.remarks == ["MA130", "N130"] and claim.balanced
    # CO-16 is generic; the line's remark M15 says why
    assert adjustments[-1].category is Category.bundling
    assert claim.status == "partial"


@pytest.mark.parametrize(
    ("carc", "category"),
    [("16", Category.other), ("18", Category.duplicate), ("29", Category.timely_filing), ("27", Category.eligibility),
     ("26", Category.eligibility), ("31", Category.eligibility), ("50", Category.medical_necessity),
     ("97", Category.bundling), ("96", Category.other), ("167", Category.medical_necessity),
     ("197", Category.prior_authorization), ("15", Category.prior_authorization), ("4", Category.coding_error),
     ("11", Category.coding_error), ("45", Category.contractual), ("1", Category.patient_responsibility),
     ("2", Category.patient_responsibility), ("3", Category.patient_responsibility)],
)
def test_carc_categories(carc: str, category: Category) -> None:
    assert load_catalog().categorize("CO", carc) is category


def test_catalog_semantics() -> None:
    catalog = load_catalog()
    assert catalog.version and "x12.org" in catalog.source
    assert not catalog.is_denial(Category.contractual) and not catalog.is_denial(Category.patient_responsibility)
    assert catalog.is_denial(Category.medical_necessity) and catalog.is_appealable(Category.medical_necessity)
    assert catalog.categorize("CO", "16", ["M62"]) is Category.prior_authorization
    assert catalog.categorize("CO", "50", ["M62"]) is Category.medical_necessity  # a specific CARC wins
    assert catalog.categorize("PR", "45") is Category.patient_responsibility
    unknown = catalog.carc_info("ZZ9")
    assert not unknown.known and unknown.category is Category.other
    assert "duplicate" in catalog.carc_info("18").text.lower()
