"""Adjudicate a submitted claim under :class:`~claims.simulator.rules.PayerRules`.

Order of checks per line (the first that applies decides a denied line):

1. claim-level noise: a ``random_denial_rate`` share of claims, picked by a hash of the claim id so
   the same claim always gets the same answer, is returned CO-16 with remark MA130;
2. prior authorization required and no REF*G1 on the claim → CO-197, remark M62;
3. procedure not covered by the plan → CO-96, remark N130;
4. the line's first pointed diagnosis is on the payer's not-covered list → CO-167;
5. a required modifier is missing → CO-4, remark M78;
6. no pointed diagnosis supports medical necessity → CO-50.

A paid line is allowed at the fee schedule × the payer's multiplier (never above the charge);
the difference is CO-45. Commercial and Medicare patients then owe the deductible (PR-1, per
claim) and coinsurance (PR-2) out of the allowed amount.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field

from claims.remit.categories import load_catalog
from claims.remit.models import Adjustment
from claims.simulator.rules import PayerPolicy, PayerRules
from medcore.model import PayerKind

__all__ = ["ClaimResult", "LineResult", "SubmittedClaim", "SubmittedLine", "adjudicate"]

_CENT = Decimal("0.01")


class SubmittedLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    modifiers: list[str] = Field(default_factory=list)
    units: Decimal = Decimal(1)
    charge: Decimal
    dx_pointers: list[int] = Field(default_factory=lambda: [1])
    service_date: date | None = None


class SubmittedClaim(BaseModel):
    """What the simulator reads from one 837P claim (or one JSON claim)."""

    model_config = ConfigDict(frozen=True)

    claim_id: str = Field(min_length=1, max_length=38)
    payer_id: str = "00000"
    payer_name: str = "UNKNOWN PAYER"
    payer_kind: PayerKind = PayerKind.commercial
    member_id: str | None = None
    patient_last: str | None = Field(default=None, repr=False)
    patient_first: str | None = Field(default=None, repr=False)
    billing_npi: str | None = None
    billing_name: str | None = None
    place_of_service: str = "11"
    date_of_service: date | None = None
    prior_authorization: str | None = None
    diagnosis_codes: list[str] = Field(min_length=1)
    lines: list[SubmittedLine] = Field(min_length=1)

    @property
    def total_charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal(0))


class LineResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: SubmittedLine
    allowed: Decimal
    paid: Decimal
    adjustments: list[Adjustment]
    remarks: list[str] = Field(default_factory=list)

    @property
    def denied(self) -> bool:
        return self.paid == 0 and any(a.group == "CO" and a.carc != "45" for a in self.adjustments)


class ClaimResult(BaseModel):
    """The payer's decision on one claim, as the 835 will report it."""

    model_config = ConfigDict(frozen=True)

    claim: SubmittedClaim
    lines: list[LineResult]
    claim_remarks: list[str] = Field(default_factory=list)
    rules_version: str

    @property
    def charge(self) -> Decimal:
        return self.claim.total_charge

    @property
    def paid(self) -> Decimal:
        return sum((r.paid for r in self.lines), Decimal(0))

    @property
    def patient_responsibility(self) -> Decimal:
        return sum((a.amount for r in self.lines for a in r.adjustments if a.group == "PR"), Decimal(0))

    @property
    def denied(self) -> bool:
        """True when any line was denied (the label the denial model learns)."""
        return any(r.denied for r in self.lines)

    @property
    def status_code(self) -> str:
        """CLP02: 4 when every line is denied, else 1 (processed as primary)."""
        return "4" if all(r.denied for r in self.lines) else "1"

    @property
    def denial_carcs(self) -> list[str]:
        return list(dict.fromkeys(a.carc for r in self.lines if r.denied for a in r.adjustments))


def adjudicate(claim: SubmittedClaim, rules: PayerRules) -> ClaimResult:
    """Decide one claim. Deterministic: the same claim and rules always give the same result."""
    policy = rules.policy(claim.payer_id)
    noise = _unit_hash(f"{claim.payer_id}|{claim.claim_id}") < policy.random_denial_rate
    billed = {line.code for line in claim.lines}
    deductible_left = policy.deductible if claim.payer_kind in (PayerKind.commercial, PayerKind.medicare) else Decimal(0)
    results = []
    for line in claim.lines:
        denial = ("16", ["MA130"]) if noise else _line_denial(claim, line, policy, billed)
        if denial is not None:
            carc, remarks = denial
            results.append(
                LineResult(line=line, allowed=Decimal(0), paid=Decimal(0), adjustments=[_adj("CO", carc, line.charge)],
                           remarks=[] if noise else remarks)
            )
            continue
        fee = rules.fee_schedule.get(line.code)
        allowed = (fee * line.units * policy.allowed_multiplier) if fee is not None else line.charge * rules.unlisted_allowed_ratio
        allowed = min(_money(allowed), line.charge)
        adjustments = []
        if line.charge > allowed:
            adjustments.append(_adj("CO", "45", line.charge - allowed))
        deductible = min(deductible_left, allowed)
        deductible_left -= deductible
        coinsurance = _money((allowed - deductible) * policy.coinsurance)
        if deductible > 0:
            adjustments.append(_adj("PR", "1", deductible))
        if coinsurance > 0:
            adjustments.append(_adj("PR", "2", coinsurance))
        results.append(LineResult(line=line, allowed=allowed, paid=allowed - deductible - coinsurance, adjustments=adjustments))
    return ClaimResult(claim=claim, lines=results, claim_remarks=["MA130"] if noise else [], rules_version=rules.version)


def _line_denial(claim: SubmittedClaim, line: SubmittedLine, policy: PayerPolicy, billed: set[str]) -> tuple[str, list[str]] | None:
    if line.code in policy.prior_authorization and not claim.prior_authorization:
        return "197", ["M62"]
    if line.code in policy.non_covered_procedures:
        return "96", ["N130"]
    pointed = [claim.diagnosis_codes[p - 1] for p in line.dx_pointers if 0 < p <= len(claim.diagnosis_codes)]
    if pointed and pointed[0] in policy.not_covered_diagnoses:
        return "167", []
    for rule in policy.required_modifiers:
        if line.code in rule.codes and rule.modifier not in line.modifiers and billed & set(rule.when_billed_with_any):
            return "4", ["M78"]
    for nec in policy.medical_necessity:
        if line.code in nec.codes and not any(dx.startswith(tuple(nec.supporting_diagnosis_prefixes)) for dx in pointed):
            return "50", []
    return None


def _adj(group: str, carc: str, amount: Decimal) -> Adjustment:
    catalog = load_catalog()
    return Adjustment(group=group, carc=carc, amount=_money(amount), category=catalog.categorize(group, carc),
                      carc_text=catalog.carc_info(carc).text)


def _money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP)


def _unit_hash(key: str) -> float:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
