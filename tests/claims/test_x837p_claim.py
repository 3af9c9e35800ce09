"""claim_from_encounter: what goes on the claim, and the fields it refuses to guess."""

from __future__ import annotations

from datetime import date

import pytest

from claims.x837p.build import ESTIMATED_DOB_RULE, build_837p, claim_from_encounter
from medcore.errors import ClaimBuildError
from medcore.model import Assertion, CodeSuggestion, Encounter, PayerKind, ProcedureLine


def test_codes_in_rank_order_without_dots(office_visit: Encounter) -> None:
    shuffled = office_visit.model_copy(
        update={"diagnoses": [office_visit.diagnoses[2], office_visit.diagnoses[0], office_visit.diagnoses[1]]}
    )
    claim = claim_from_encounter(shuffled)
    assert claim.diagnosis_codes == ["E119", "I10", "E785"]


def test_claim_mirrors_encounter(office_visit: Encounter) -> None:
    claim = claim_from_encounter(office_visit)
    assert claim.claim_id == office_visit.encounter_id
    assert claim.encounter_id == office_visit.encounter_id
    assert claim.total_charge == pytest.approx(185.5)
    assert [line.code for line in claim.lines] == ["99214", "83036", "36415"]
    assert claim.lines[0].modifiers == ["25"]
    assert claim.findings == []
    assert claim_from_encounter(office_visit, claim_id="CLM-77").claim_id == "CLM-77"


def _fails(encounter: Encounter, field: str, **kwargs) -> ClaimBuildError:
    with pytest.raises(ClaimBuildError) as info:
        claim_from_encounter(encounter, **kwargs)
    assert info.value.field == field
    return info.value


def test_no_diagnoses(office_visit: Encounter) -> None:
    _fails(office_visit.model_copy(update={"diagnoses": []}), "diagnoses")


def test_no_procedures(office_visit: Encounter) -> None:
    _fails(office_visit.model_copy(update={"procedures": []}), "procedures")


def test_dx_pointer_beyond_diagnoses(office_visit: Encounter) -> None:
    lines = [ProcedureLine(code="99213", charge=90, dx_pointers=[1, 4])]
    err = _fails(office_visit.model_copy(update={"procedures": lines}), "procedures[0].dx_pointers")
    assert "4" in err.reason


def test_more_than_twelve_diagnoses(office_visit: Encounter) -> None:
    dx = [CodeSuggestion(code=f"M79.6{i:02d}"[:7], rank=i + 1) for i in range(13)]
    _fails(office_visit.model_copy(update={"diagnoses": dx}), "diagnoses")


def test_duplicate_and_malformed_codes(office_visit: Encounter) -> None:
    dup = [*office_visit.diagnoses, CodeSuggestion(code="I10", rank=9)]
    _fails(office_visit.model_copy(update={"diagnoses": dup}), "diagnoses[3].code")
    bad = [CodeSuggestion(code="99213", rank=1)]
    _fails(office_visit.model_copy(update={"diagnoses": bad}), "diagnoses[0].code")
    cpt = [CodeSuggestion(code="99213", system="CPT", rank=1)]
    _fails(office_visit.model_copy(update={"diagnoses": cpt}), "diagnoses[0].system")


def test_negated_diagnosis_is_refused(office_visit: Encounter) -> None:
    dx = [*office_visit.diagnoses[:2], office_visit.diagnoses[2].model_copy(update={"assertion": Assertion.negated})]
    _fails(office_visit.model_copy(update={"diagnoses": dx}), "diagnoses[2].assertion")


def test_missing_member_id(office_visit: Encounter) -> None:
    patient = office_visit.patient.model_copy(update={"member_id": None})
    _fails(office_visit.model_copy(update={"patient": patient}), "patient.member_id")


def test_missing_name(office_visit: Encounter) -> None:
    patient = office_visit.patient.model_copy(update={"name": "  "})
    _fails(office_visit.model_copy(update={"patient": patient}), "patient.name")


def test_name_with_x12_delimiter(office_visit: Encounter) -> None:
    patient = office_visit.patient.model_copy(update={"name": "DOE*SMITH^JANE"})
    _fails(office_visit.model_copy(update={"patient": patient}), "patient.name")


def test_missing_birth_date(office_visit: Encounter) -> None:
    patient = office_visit.patient.model_copy(update={"birth_date": None, "age": None})
    _fails(office_visit.model_copy(update={"patient": patient}), "patient.birth_date")


def test_birth_date_after_service(office_visit: Encounter) -> None:
    patient = office_visit.patient.model_copy(update={"birth_date": date(2026, 3, 3)})
    _fails(office_visit.model_copy(update={"patient": patient}), "patient.birth_date")


def test_age_only_needs_explicit_estimate(office_visit: Encounter, settings) -> None:
    patient = office_visit.patient.model_copy(update={"birth_date": None, "age": 45})
    encounter = office_visit.model_copy(update={"patient": patient})
    err = _fails(encounter, "patient.birth_date")
    assert "allow_estimated_dob" in err.reason

    claim = claim_from_encounter(encounter, allow_estimated_dob=True)
    assert [f.rule_id for f in claim.findings] == [ESTIMATED_DOB_RULE]
    text = build_837p([(encounter, claim)], settings=settings)
    # Jan 1 of (2026 - 45): the age on the date of service stays 45.
    assert "DMG*D8*19810101*F~" in text
    assert patient.model_copy(update={"birth_date": date(1981, 1, 1)}).age_on(encounter.date_of_service) == 45

    # Without the finding on the claim, the builder refuses the same encounter.
    with pytest.raises(ClaimBuildError) as info:
        build_837p([(encounter, claim.model_copy(update={"findings": []}))], settings=settings)
    assert info.value.field == "patient.birth_date"


def test_payer_must_be_named_and_billable(office_visit: Encounter) -> None:
    payer = office_visit.payer.model_copy(update={"payer_id": "00000"})
    _fails(office_visit.model_copy(update={"payer": payer}), "payer.payer_id")
    payer = office_visit.payer.model_copy(update={"kind": PayerKind.self_pay})
    _fails(office_visit.model_copy(update={"payer": payer}), "payer.kind")


def test_claim_id_too_long(office_visit: Encounter) -> None:
    _fails(office_visit, "claim_id", claim_id="X" * 39)
