"""build_837p: one interchange, consistent envelopes, and pyx12 accepts it with zero errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from claims.x837p.build import build_837p, build_interchange, claim_from_encounter
from claims.x837p.validate import validate_837p
from medcore.errors import ClaimBuildError
from medcore.model import Encounter, Provider


def _segments(text: str) -> list[list[str]]:
    return [s.strip().split("*") for s in text.split("~") if s.strip()]


def _build(encounters: list[Encounter], settings, created, **kwargs) -> str:
    return build_837p([(e, claim_from_encounter(e)) for e in encounters], settings=settings, created=created, **kwargs)


def test_one_claim_validates(office_visit: Encounter, settings, created) -> None:
    result = validate_837p(_build([office_visit], settings, created))
    assert result.errors == []
    assert result.valid
    assert "IK5*A" in result.ack_999


def test_three_claims_validate(three_encounters: list[Encounter], settings, created) -> None:
    text = _build(three_encounters, settings, created)
    result = validate_837p(text)
    assert result.errors == []
    assert result.valid
    segs = _segments(text)
    assert sum(s[0] == "CLM" for s in segs) == 3
    assert sum(s[0] == "ISA" for s in segs) == 1 and sum(s[0] == "ST" for s in segs) == 1
    # two billing providers: the settings' practice and the encounter's own group
    assert [s[9] for s in segs if s[:2] == ["NM1", "85"]] == ["1234567893", "1003000126"]


def test_envelope_counts_and_control_numbers(three_encounters: list[Encounter], settings, created) -> None:
    segs = _segments(_build(three_encounters, settings, created, control_number=4711))
    ids = [s[0] for s in segs]
    st, se = ids.index("ST"), ids.index("SE")
    assert int(segs[se][1]) == se - st + 1  # SE01 counts ST through SE
    assert segs[st][2] == segs[se][2] == "4711"
    isa, gs, ge, iea = segs[0], segs[1], segs[-2], segs[-1]
    assert isa[13] == iea[2] == "000004711"
    assert gs[6] == ge[2] == "4711"
    assert ge[1] == "1" and iea[1] == "1"
    assert gs[8] == segs[st][3] == "005010X222A1"
    assert [s[1] for s in segs if s[0] == "HL"] == ["1", "2", "3", "4", "5"]


def test_delimiters_and_isa_width(office_visit: Encounter, settings, created) -> None:
    text = _build([office_visit], settings, created)
    isa = text.split("~")[0] + "~"
    assert len(isa) == 106
    assert (isa[3], isa[82], isa[104], isa[105]) == ("*", "^", ":", "~")


def test_claim_segments(office_visit: Encounter, settings, created) -> None:
    segs = _segments(_build([office_visit], settings, created))
    by_id = {}
    for s in segs:
        by_id.setdefault(s[0], []).append(s)
    assert by_id["SBR"] == [["SBR", "P", "18", "", "", "", "", "", "", "CI"]]
    assert by_id["DMG"] == [["DMG", "D8", "19800412", "F"]]
    assert ["NM1", "IL", "1", "DOE", "JANE", "Q", "", "", "MI", "MBR123456"] in by_id["NM1"]
    assert ["REF", "EI", "123456789"] in by_id["REF"]
    assert by_id["CLM"] == [["CLM", "ENC-0001", "185.5", "", "", "11:B:1", "Y", "A", "Y", "Y"]]
    assert by_id["HI"] == [["HI", "ABK:E119", "ABF:I10", "ABF:E785"]]
    assert by_id["SV1"][0] == ["SV1", "HC:99214:25", "150", "UN", "1", "", "", "1:2:3"]
    assert by_id["DTP"][0] == ["DTP", "472", "D8", "20260302"]


def test_typed_model_renders_the_same_text(office_visit: Encounter, settings, created) -> None:
    items = [(office_visit, claim_from_encounter(office_visit))]
    model = build_interchange(items, settings=settings, created=created)
    assert model.render() == build_837p(items, settings=settings, created=created)
    loop = model.transactions[0].loop_2000a[0].loop_2000b[0].loop_2300[0]
    assert loop.clm_segment.patient_control_number == "ENC-0001"


def test_bad_billing_npi_is_refused(office_visit: Encounter, settings, created) -> None:
    provider = Provider(npi="1234567890", name="FICTIONAL CLINIC", tax_id="123456789", address="1 A ST",
                        city="SPRINGFIELD", state="IL", zip="627011234")
    encounter = office_visit.model_copy(update={"billing_provider": provider})
    with pytest.raises(ClaimBuildError) as info:
        _build([encounter], settings, created)
    assert info.value.field == "billing_provider.npi"


def test_bad_settings_npi_is_refused(office_visit: Encounter, settings, created) -> None:
    with pytest.raises(ClaimBuildError) as info:
        _build([office_visit], settings.model_copy(update={"billing_npi": "1234567890"}), created)
    assert info.value.field == "settings.billing_npi"


def test_billing_provider_needs_ein_and_zip4(office_visit: Encounter, settings, created) -> None:
    base = dict(npi="1003000126", name="FICTIONAL CLINIC", address="1 A ST", city="RIVERTON", state="WY")
    for provider, field in [
        (Provider(**base, zip="825011111"), "billing_provider.tax_id"),
        (Provider(**base, tax_id="987654321", zip="82501"), "billing_provider.zip"),
    ]:
        with pytest.raises(ClaimBuildError) as info:
            _build([office_visit.model_copy(update={"billing_provider": provider})], settings, created)
        assert info.value.field == field


def test_claim_must_match_its_encounter(three_encounters: list[Encounter], settings, created) -> None:
    a, b = three_encounters[:2]
    with pytest.raises(ClaimBuildError) as info:
        build_837p([(a, claim_from_encounter(b))], settings=settings)
    assert info.value.field == "claim.encounter_id"
    claim = claim_from_encounter(a)
    with pytest.raises(ClaimBuildError) as info:
        build_837p([(a, claim.model_copy(update={"total_charge": 1.0}))], settings=settings)
    assert info.value.field == "claim.total_charge"


def test_nothing_to_build(settings) -> None:
    with pytest.raises(ClaimBuildError) as info:
        build_837p([], settings=settings)
    assert info.value.field == "items"


def test_user_samples_build_and_validate(settings) -> None:
    samples = sorted((Path(__file__).resolve().parents[2] / "samples" / "encounters").glob("*.json"))
    assert len(samples) >= 2
    encounters = [Encounter.model_validate_json(p.read_text()) for p in samples]
    result = validate_837p(build_837p([(e, claim_from_encounter(e)) for e in encounters], settings=settings))
    assert result.errors == []
