"""Typed 835 remittance: payments, adjustments (CAS) and remarks (RARC), with denial categories."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from claims.remit.categories import Category

__all__ = ["Adjustment", "ClaimPayment", "ProviderAdjustment", "Remittance", "RemitStatus", "ServicePayment"]

RemitStatus = Literal["paid", "partial", "denied", "reversed"]


class Adjustment(BaseModel):
    """One CAS triplet: group code, CARC and amount (a positive amount reduces payment)."""

    model_config = ConfigDict(frozen=True)

    group: str = Field(description="CAS01: CO contractual obligation, PR patient, OA other, PI payer initiated, CR correction")
    carc: str = Field(description="Claim Adjustment Reason Code")
    amount: Decimal
    quantity: Decimal | None = None
    category: Category = Category.other
    carc_text: str = ""

    @property
    def label(self) -> str:
        """``CO-45`` style."""
        return f"{self.group}-{self.carc}"


class ServicePayment(BaseModel):
    """One SVC service line."""

    model_config = ConfigDict(frozen=True)

    qualifier: str = Field(default="HC", description="SVC01-1")
    code: str = Field(description="SVC01-2")
    modifiers: list[str] = Field(default_factory=list)
    charge: Decimal
    paid: Decimal
    units: Decimal | None = None
    allowed: Decimal | None = Field(default=None, description="AMT*B6")
    service_date: date | None = None
    adjustments: list[Adjustment] = Field(default_factory=list)
    remarks: list[str] = Field(default_factory=list, description="LQ*HE remark codes")


class ClaimPayment(BaseModel):
    """One CLP claim payment with its service lines."""

    model_config = ConfigDict(frozen=True)

    claim_id: str = Field(description="CLP01, the provider's claim id (837 CLM01)")
    status_code: str = Field(description="CLP02: 1/2/3 processed as primary/secondary/tertiary, 4 denied, 22 reversal")
    status: RemitStatus
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal = Decimal(0)
    filing_indicator: str | None = Field(default=None, description="CLP06")
    payer_claim_number: str | None = Field(default=None, description="CLP07")
    adjustments: list[Adjustment] = Field(default_factory=list, description="claim-level CAS")
    remarks: list[str] = Field(default_factory=list, description="claim-level remark codes (MOA, MIA)")
    services: list[ServicePayment] = Field(default_factory=list)
    balanced: bool = Field(description="charge − paid equals the sum of every claim and line adjustment")

    def all_adjustments(self) -> list[Adjustment]:
        return [*self.adjustments, *(a for s in self.services for a in s.adjustments)]

    def all_remarks(self) -> list[str]:
        return list(dict.fromkeys([*self.remarks, *(r for s in self.services for r in s.remarks)]))

    @property
    def denial_categories(self) -> list[Category]:
        """Categories of the adjustments that are denials (not contractual, not the patient's share)."""
        from claims.remit.categories import load_catalog

        catalog = load_catalog()
        return list(dict.fromkeys(a.category for a in self.all_adjustments() if catalog.is_denial(a.category)))

    @property
    def denied_amount(self) -> Decimal:
        from claims.remit.categories import load_catalog

        catalog = load_catalog()
        return sum((a.amount for a in self.all_adjustments() if catalog.is_denial(a.category)), Decimal(0))


class ProviderAdjustment(BaseModel):
    """One PLB reason/amount pair (provider-level, not tied to a claim)."""

    model_config = ConfigDict(frozen=True)

    provider_id: str
    reason: str
    reference: str | None = None
    amount: Decimal


class Remittance(BaseModel):
    """One 835 transaction set: the payment (BPR/TRN), payer, payee and claims."""

    model_config = ConfigDict(frozen=True)

    control_number: str = Field(description="ST02")
    payment_amount: Decimal = Field(description="BPR02")
    payment_method: str | None = Field(default=None, description="BPR04: CHK, ACH, NON...")
    payment_date: date | None = Field(default=None, description="BPR16")
    trace_number: str | None = Field(default=None, description="TRN02, the check or EFT number")
    payer_name: str | None = None
    payer_id: str | None = Field(default=None, description="REF*2U or TRN03")
    payee_name: str | None = None
    payee_id: str | None = None
    claims: list[ClaimPayment] = Field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = Field(default_factory=list)
    catalog_version: str = Field(description="version of carc_categories.yaml used to categorize")
