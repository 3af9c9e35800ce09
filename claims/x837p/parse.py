"""Read the claims back out of an 837P interchange with x12sdk's typed models.

x12sdk models 005010X222A2 and parses an X222A1 file with the same models (it maps A1 to A2), so
no relabelling is needed. Two quirks are handled here:

- ``import x12sdk`` loads a ``.env`` file, so it is imported only when :func:`parse_837p` runs.
- x12sdk accepts only ``F`` and ``M`` in DMG03 although the X222A1 guide also allows ``U``
  (unknown); a ``U`` is dropped before parsing. The gender is not part of :class:`ParsedClaim`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ParsedClaim", "ParsedLine", "parse_837p"]


class ParsedLine(BaseModel):
    """One 2400 service line as read back."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="SV101-2")
    modifiers: list[str] = Field(default_factory=list, description="SV101-3 to SV101-6")
    units: int = Field(description="SV104")
    charge: Decimal = Field(description="SV102")
    dx_pointers: list[int] = Field(description="SV107")
    service_date: date | None = Field(default=None, description="DTP*472")


class ParsedClaim(BaseModel):
    """One 2300 claim as read back, with the identifiers around it."""

    model_config = ConfigDict(frozen=True)

    claim_id: str = Field(description="CLM01")
    total_charge: Decimal = Field(description="CLM02")
    place_of_service: str = Field(description="CLM05-1")
    diagnosis_codes: list[str] = Field(description="HI, principal first, without dots")
    lines: list[ParsedLine]
    member_id: str | None = Field(default=None, description="2010BA NM109")
    payer_id: str | None = Field(default=None, description="2010BB NM109")
    billing_npi: str | None = Field(default=None, description="2010AA NM109")
    rendering_npi: str | None = Field(default=None, description="2310B NM109")


def parse_837p(text: str) -> list[ParsedClaim]:
    """Parse every claim in an 837P interchange.

    Parameters
    ----------
    text : str
        X12 text starting with ``ISA`` (any delimiters the ISA announces).

    Returns
    -------
    list of ParsedClaim
        In file order, across all transaction sets.

    Raises
    ------
    ValueError
        When the text is not an X12 interchange, or x12sdk cannot build its models from it
        (``pydantic.ValidationError`` is a ``ValueError``).
    """
    text = text.lstrip()
    if not text.startswith("ISA") or len(text) < 106:
        raise ValueError("not an X12 interchange: it does not start with a complete ISA segment")
    element, component, terminator = text[3], text[104], text[105]

    from x12sdk.io import X12ModelReader

    claims: list[ParsedClaim] = []
    with X12ModelReader(_drop_unknown_gender(text, element, terminator)) as reader:
        for transaction in reader.models():
            for submitted in transaction.claims():
                claims.append(_claim(submitted, component))
    return claims


def _drop_unknown_gender(text: str, element: str, terminator: str) -> str:
    segments = text.split(terminator)
    for i, segment in enumerate(segments):
        fields = segment.split(element)
        if fields[0].strip() == "DMG" and len(fields) == 4 and fields[3] == "U":
            segments[i] = element.join(fields[:3])
    return terminator.join(segments)


def _claim(submitted: Any, component: str) -> ParsedClaim:
    clm = submitted.claim.clm_segment
    codes: list[str] = []
    for hi in submitted.claim.hi_segment or []:
        for n in range(1, 13):
            value = getattr(hi, f"health_care_code_{n}")
            if value:
                codes.append(value[1])
    rendering = submitted.claim.loop_2310b
    return ParsedClaim(
        claim_id=clm.patient_control_number,
        total_charge=clm.total_claim_charge_amount,
        place_of_service=_components(clm.health_care_service_location_information, component)[0],
        diagnosis_codes=codes,
        lines=[_line(loop, component) for loop in submitted.service_lines],
        member_id=submitted.member_id,
        payer_id=submitted.payer.nm1_segment.identification_code,
        billing_npi=submitted.billing_provider_npi,
        rendering_npi=rendering.nm1_segment.identification_code if rendering is not None else None,
    )


def _line(loop: Any, component: str) -> ParsedLine:
    sv1 = loop.sv1_segment
    procedure = _components(sv1.product_service_id_qualifier, component)
    units = sv1.service_unit_count
    if units != units.to_integral_value():
        raise ValueError(f"SV104 {units} is not a whole number of units")
    service_date = next((d.date_time_period for d in loop.dtp_segment if d.date_time_qualifier == "472"), None)
    return ParsedLine(
        code=procedure[1],
        modifiers=[m for m in procedure[2:6] if m],
        units=int(units),
        charge=sv1.line_item_charge_amount,
        dx_pointers=[int(p) for p in _components(sv1.composite_diagnosis_code_pointer, component) if p],
        service_date=service_date if isinstance(service_date, date) else None,
    )


def _components(value: str | list[str], component: str) -> list[str]:
    # x12sdk keeps some composites as the raw "A:B:C" string and splits others into lists.
    return list(value) if isinstance(value, list) else value.split(component)
