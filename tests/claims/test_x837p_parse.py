"""parse_837p: x12sdk reads back what build_837p wrote."""

from __future__ import annotations

from decimal import Decimal

from claims.x837p.build import build_837p, claim_from_encounter
from claims.x837p.parse import parse_837p
from medcore.model import Encounter


def test_round_trip(three_encounters: list[Encounter], settings, created) -> None:
    claims = [claim_from_encounter(e) for e in three_encounters]
    text = build_837p(list(zip(three_encounters, claims, strict=True)), settings=settings, created=created)
    parsed = {p.claim_id: p for p in parse_837p(text)}
    assert sorted(parsed) == sorted(c.claim_id for c in claims)
    for encounter, claim in zip(three_encounters, claims, strict=True):
        back = parsed[claim.claim_id]
        assert back.total_charge == Decimal(str(claim.total_charge))
        assert back.diagnosis_codes == claim.diagnosis_codes
        assert back.place_of_service == encounter.place_of_service
        assert back.member_id == encounter.patient.member_id
        assert back.payer_id == encounter.payer.payer_id
        assert [(line.code, line.modifiers, line.units, line.dx_pointers) for line in back.lines] == [
            (line.code, line.modifiers, line.units, line.dx_pointers) for line in claim.lines
        ]
        assert [line.charge for line in back.lines] == [Decimal(str(line.charge)) for line in claim.lines]
        assert all(line.service_date == encounter.date_of_service for line in back.lines)
    assert parsed["ENC-0002"].rendering_npi == "1245319599"
    assert parsed["ENC-0003"].billing_npi == "1003000126"


def test_unknown_gender_still_parses(three_encounters: list[Encounter], settings, created) -> None:
    # The Medicaid fixture's patient has sex U, which the guide allows and x12sdk's DMG model does not.
    telehealth = three_encounters[2]
    assert telehealth.patient.sex.value == "U"
    text = build_837p([(telehealth, claim_from_encounter(telehealth))], settings=settings, created=created)
    assert [p.claim_id for p in parse_837p(text)] == ["ENC-0003"]
