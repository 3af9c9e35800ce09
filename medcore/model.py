"""The domain model shared by every layer.

Everything that crosses a stage boundary (ingest → code → scrub → claim → submit → remit, plus audit)
is one of these pydantic v2 models. They are plain data: no I/O, no imports from upper layers.
JSON Schemas are exported to ``docs/schemas/`` by ``medcode schemas``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Sex(StrEnum):
    male = "M"
    female = "F"
    unknown = "U"


class Setting(StrEnum):
    office = "office"
    telehealth = "telehealth"
    ed = "ed"
    inpatient = "inpatient"
    radiology = "radiology"
    outpatient = "outpatient"

    @property
    def is_outpatient(self) -> bool:
        # ICD-10-CM guideline IV.H: uncertain diagnoses are not coded outside inpatient care.
        return self is not Setting.inpatient


class Assertion(StrEnum):
    present = "present"
    negated = "negated"
    uncertain = "uncertain"
    hypothetical = "hypothetical"
    historical = "historical"
    family = "family"
    other_person = "other_person"


class PayerKind(StrEnum):
    medicare = "medicare"
    medicaid = "medicaid"
    commercial = "commercial"
    self_pay = "self_pay"


class Patient(_Model):
    """The patient. ``name``, ``birth_date`` and ``member_id`` are PHI: never log them."""

    patient_id: str | None = None
    name: str | None = None
    birth_date: date | None = None
    age: int | None = Field(default=None, ge=0, le=130)
    sex: Sex = Sex.unknown
    member_id: str | None = None

    def age_on(self, when: date) -> int | None:
        if self.birth_date is not None:
            years = when.year - self.birth_date.year
            if (when.month, when.day) < (self.birth_date.month, self.birth_date.day):
                years -= 1
            return max(years, 0)
        return self.age


class Payer(_Model):
    payer_id: str = "00000"
    name: str = "Unknown payer"
    kind: PayerKind = PayerKind.commercial


class Provider(_Model):
    npi: str = Field(pattern=r"^\d{10}$")
    name: str
    tax_id: str | None = Field(default=None, pattern=r"^\d{9}$")
    taxonomy: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    zip: str | None = Field(default=None, pattern=r"^\d{5}(\d{4})?$")


class Note(_Model):
    """One clinical document. Evidence offsets always index into ``text`` exactly as stored here."""

    note_id: str | None = None
    text: str = Field(min_length=1)
    source_format: Literal["text", "fhir", "hl7", "ccda"] = "text"
    title: str | None = None


class Evidence(_Model):
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    note_index: int = 0

    @model_validator(mode="after")
    def _ordered(self) -> Evidence:
        if self.end < self.start:
            raise ValueError("evidence end precedes start")
        return self


class CodeSuggestion(_Model):
    code: str
    system: Literal["ICD-10-CM", "CPT", "HCPCS"] = "ICD-10-CM"
    description: str = ""
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    rank: int = Field(default=1, ge=1)
    assertion: Assertion = Assertion.present
    evidence: list[Evidence] = Field(default_factory=list)
    explanation: str = ""

    @field_validator("code")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()


class ProcedureLine(_Model):
    """One service line: a CPT/HCPCS code with modifiers, units and a charge."""

    code: str = Field(pattern=r"^[0-9A-Z]{5}$")
    modifiers: list[str] = Field(default_factory=list, max_length=4)
    units: int = Field(default=1, ge=1)
    charge: float = Field(default=0.0, ge=0)
    dx_pointers: list[int] = Field(default_factory=lambda: [1], min_length=1, max_length=4)
    service_date: date | None = None

    @field_validator("modifiers")
    @classmethod
    def _mods(cls, v: list[str]) -> list[str]:
        for m in v:
            if len(m) != 2 or not m.isalnum():
                raise ValueError(f"modifier {m!r} must be two alphanumeric characters")
        return [m.upper() for m in v]


class Encounter(_Model):
    """One visit. This JSON is the input of ``medcode scrub`` and ``medcode claim build``."""

    encounter_id: str = Field(min_length=1, max_length=38)
    tenant_id: str = "default"
    setting: Setting = Setting.office
    specialty: str | None = None
    patient: Patient = Field(default_factory=Patient)
    date_of_service: date
    place_of_service: str = Field(default="11", pattern=r"^\d{2}$")
    payer: Payer = Field(default_factory=Payer)
    rendering_provider: Provider | None = None
    billing_provider: Provider | None = None
    notes: list[Note] = Field(default_factory=list)
    diagnoses: list[CodeSuggestion] = Field(default_factory=list)
    procedures: list[ProcedureLine] = Field(default_factory=list)
    source_diagnoses: list[str] = Field(
        default_factory=list, description="Codes already present in the source (for example HL7 DG1)."
    )
    prior_authorization: str | None = Field(default=None, max_length=50, description="Payer authorization number")

    @property
    def text(self) -> str:
        return "\n\n".join(n.text for n in self.notes)


class Severity(StrEnum):
    error = "error"
    warning = "warning"


class ScrubFinding(_Model):
    rule_id: str
    severity: Severity
    message: str
    codes: list[str] = Field(default_factory=list)
    fix: str = ""
    carc: str | None = None
    rarc: str | None = None


class ClaimStatus(StrEnum):
    built = "built"
    held = "held"
    submitted = "submitted"
    accepted = "accepted"
    rejected = "rejected"
    paid = "paid"
    denied = "denied"


class Claim(_Model):
    """A professional claim derived from an encounter; ``x12`` holds the 837P once built."""

    claim_id: str = Field(min_length=1, max_length=38)
    encounter_id: str
    tenant_id: str = "default"
    total_charge: float = Field(ge=0)
    diagnosis_codes: list[str] = Field(min_length=1, max_length=12)
    lines: list[ProcedureLine] = Field(min_length=1, max_length=50)
    status: ClaimStatus = ClaimStatus.built
    findings: list[ScrubFinding] = Field(default_factory=list)
    x12: str | None = None


class AuditAction(StrEnum):
    read = "read"
    create = "create"
    update = "update"
    delete = "delete"
    export = "export"
    submit = "submit"


class AuditEvent(_Model):
    """Who touched which resource, how, when, from where and why. It must never hold PHI itself."""

    tenant_id: str
    actor: str
    action: AuditAction
    resource_type: str
    resource_id: str
    purpose: str = "treatment-payment-operations"
    source: str = "cli"
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    detail: dict[str, str] = Field(default_factory=dict)

    @staticmethod
    def pseudonymize(value: str) -> str:
        """A stable, non-reversible reference for identifiers that are themselves PHI."""
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:24]


DOMAIN_MODELS: tuple[type[BaseModel], ...] = (
    Encounter,
    Patient,
    Note,
    CodeSuggestion,
    ScrubFinding,
    Claim,
    AuditEvent,
)
