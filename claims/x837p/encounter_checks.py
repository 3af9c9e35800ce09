"""What an encounter must hold before it can become an 837P claim; each check names the field at fault."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from claims.x837p.x12_text import person_name, x12_text
from medcore.errors import ClaimBuildError
from medcore.model import Assertion, Encounter, PayerKind, ProcedureLine

MAX_DIAGNOSES = 12
"""HI carries at most twelve diagnosis codes on a professional claim."""

MAX_LINES = 50
"""Loop 2400 repeats at most fifty times per claim."""

ICD10CM_PATTERN = re.compile(r"^[A-Z][0-9][0-9A-Z]{1,5}$")
"""An ICD-10-CM code as HI carries it: no dot, three to seven characters."""

CLAIM_FILING: dict[PayerKind, str] = {
    PayerKind.medicare: "MB",  # Medicare Part B
    PayerKind.medicaid: "MC",
    PayerKind.commercial: "CI",
}
"""SBR09 Claim Filing Indicator Code per payer kind; self-pay is not billed on an 837P."""

_NO_PAYER_ID = "00000"  # Payer's default: the encounter never named a payer
_CENT = Decimal("0.01")


def diagnosis_codes(encounter: Encounter) -> list[str]:
    if not encounter.diagnoses:
        raise ClaimBuildError("diagnoses", "the encounter has no diagnosis codes; a claim needs at least one")
    ranked = sorted(enumerate(encounter.diagnoses), key=lambda pair: (pair[1].rank, pair[0]))
    if len(ranked) > MAX_DIAGNOSES:
        raise ClaimBuildError(
            "diagnoses", f"{len(ranked)} diagnosis codes; an 837P claim carries at most {MAX_DIAGNOSES}, so split it"
        )
    codes: list[str] = []
    for index, dx in ranked:
        field = f"diagnoses[{index}]"
        if dx.system != "ICD-10-CM":
            raise ClaimBuildError(f"{field}.system", f"{dx.system} is not a diagnosis code system; HI takes ICD-10-CM")
        if dx.assertion == Assertion.negated:
            raise ClaimBuildError(f"{field}.assertion", "a negated condition is never billed")
        code = dx.code.replace(".", "").upper()
        if not ICD10CM_PATTERN.match(code):
            raise ClaimBuildError(f"{field}.code", f"{dx.code!r} is not an ICD-10-CM code")
        if code in codes:
            raise ClaimBuildError(f"{field}.code", f"{dx.code} is listed twice")
        codes.append(code)
    return codes


def check_lines(lines: Sequence[ProcedureLine], n_diagnoses: int, where: str) -> None:
    if not lines:
        raise ClaimBuildError(where, "no procedure lines; a claim needs at least one service line")
    if len(lines) > MAX_LINES:
        raise ClaimBuildError(where, f"{len(lines)} service lines; an 837P claim carries at most {MAX_LINES}")
    for i, line in enumerate(lines):
        for pointer in line.dx_pointers:
            if not 1 <= pointer <= n_diagnoses:
                raise ClaimBuildError(
                    f"{where}[{i}].dx_pointers",
                    f"pointer {pointer} is outside the claim's {n_diagnoses} diagnosis code(s)",
                )
        if len(set(line.dx_pointers)) != len(line.dx_pointers):
            raise ClaimBuildError(f"{where}[{i}].dx_pointers", "a diagnosis is pointed at twice")


def check_patient(encounter: Encounter) -> None:
    patient = encounter.patient
    if not patient.name or not patient.name.strip():
        raise ClaimBuildError("patient.name", "the subscriber's name (2010BA NM103/NM104) is required")
    person_name(patient.name, "patient.name")
    if not patient.member_id or not patient.member_id.strip():
        raise ClaimBuildError("patient.member_id", "the member id (2010BA NM109) is required")
    x12_text(patient.member_id, "patient.member_id", max_length=80, min_length=2)


def check_payer(encounter: Encounter) -> None:
    payer = encounter.payer
    if payer.kind not in CLAIM_FILING:
        raise ClaimBuildError("payer.kind", f"{payer.kind.value} encounters are not billed on an 837P")
    if payer.payer_id == _NO_PAYER_ID:
        raise ClaimBuildError("payer.payer_id", "the encounter names no payer (payer_id is the default 00000)")
    x12_text(payer.payer_id, "payer.payer_id", max_length=80, min_length=2)
    x12_text(payer.name, "payer.name", max_length=60)


def subscriber_birth_date(encounter: Encounter, *, estimated_allowed: bool) -> date:
    patient = encounter.patient
    if patient.birth_date is not None:
        if patient.birth_date > encounter.date_of_service:
            raise ClaimBuildError("patient.birth_date", "falls after the date of service")
        return patient.birth_date
    if patient.age is None:
        raise ClaimBuildError("patient.birth_date", "the subscriber's birth date (2010BA DMG02) is required")
    if not estimated_allowed:
        raise ClaimBuildError(
            "patient.birth_date",
            "the subscriber's birth date (2010BA DMG02) is required; only an age is on file "
            "(pass allow_estimated_dob=True to estimate it)",
        )
    return date(encounter.date_of_service.year - patient.age, 1, 1)


def money(amount: float) -> Decimal:
    return Decimal(str(amount)).quantize(_CENT, rounding=ROUND_HALF_UP)
