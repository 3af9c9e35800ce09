"""The loops of an 837P 005010X222A1 transaction, in the guide's hierarchy.

Only the loops and segments medcode fills are modelled::

    Header                 ST, BHT
    Loop1000A              submitter name: NM1*41, PER
    Loop1000B              receiver name: NM1*40
    Loop2000A              billing provider: HL*..*20, PRV*BI
        Loop2010AA         billing provider name: NM1*85, N3, N4, REF*EI
        Loop2000B          subscriber: HL*..*22, SBR (the patient is the subscriber, SBR02 = 18)
            Loop2010BA     subscriber name: NM1*IL, DMG
            Loop2010BB     payer name: NM1*PR
            Loop2300       claim: CLM, HI
                Loop2310B  rendering provider name: NM1*82, PRV*PE
                Loop2400   service line: LX, SV1, DTP*472

Each loop checks the qualifiers the guide fixes for it, and ``segments()`` yields its segments in
transmission order. The Loop 2000C (patient other than the subscriber) is not modelled: medcode bills
the patient as the subscriber.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from claims.x837p.segments import (
    BHT,
    CLM,
    DMG,
    DTP,
    HI,
    HL,
    LX,
    N3,
    N4,
    NM1,
    PER,
    PRV,
    REF,
    SBR,
    ST,
    SV1,
    Segment,
)


def _expect(loop: str, ref: str, value: object, allowed: tuple[object, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{loop} {ref} must be one of {', '.join(map(str, allowed))}, not {value!r}")


class Loop(BaseModel):
    """A loop: its fields are its segments and child loops, in transmission order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def segments(self) -> Iterator[Segment]:
        for value in dict(self).values():
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, Segment):
                    yield item
                elif isinstance(item, Loop):
                    yield from item.segments()


class Header(Loop):
    """Transaction set header: ST and BHT."""

    st_segment: ST
    bht_segment: BHT


class Loop1000A(Loop):
    """Loop 1000A Submitter Name."""

    nm1_segment: NM1
    per_segment: PER

    @model_validator(mode="after")
    def _guide(self) -> Loop1000A:
        _expect("1000A", "NM101", self.nm1_segment.entity_identifier_code, ("41",))
        _expect("1000A", "NM108", self.nm1_segment.identification_code_qualifier, ("46",))
        return self


class Loop1000B(Loop):
    """Loop 1000B Receiver Name."""

    nm1_segment: NM1

    @model_validator(mode="after")
    def _guide(self) -> Loop1000B:
        _expect("1000B", "NM101", self.nm1_segment.entity_identifier_code, ("40",))
        _expect("1000B", "NM102", self.nm1_segment.entity_type_qualifier, ("2",))
        _expect("1000B", "NM108", self.nm1_segment.identification_code_qualifier, ("46",))
        return self


class Loop2010AA(Loop):
    """Loop 2010AA Billing Provider Name, address and tax identification."""

    nm1_segment: NM1
    n3_segment: N3
    n4_segment: N4
    ref_segment: REF

    @model_validator(mode="after")
    def _guide(self) -> Loop2010AA:
        _expect("2010AA", "NM101", self.nm1_segment.entity_identifier_code, ("85",))
        _expect("2010AA", "NM108", self.nm1_segment.identification_code_qualifier, ("XX",))
        _expect("2010AA", "REF01", self.ref_segment.reference_identification_qualifier, ("EI", "SY"))
        postal = self.n4_segment.postal_code or ""
        if len(postal) != 9:
            raise ValueError("2010AA N403 must be the nine-digit ZIP+4 of the billing provider")
        return self


class Loop2010BA(Loop):
    """Loop 2010BA Subscriber Name (here also the patient, so DMG is required)."""

    nm1_segment: NM1
    dmg_segment: DMG

    @model_validator(mode="after")
    def _guide(self) -> Loop2010BA:
        _expect("2010BA", "NM101", self.nm1_segment.entity_identifier_code, ("IL",))
        _expect("2010BA", "NM102", self.nm1_segment.entity_type_qualifier, ("1",))
        _expect("2010BA", "NM108", self.nm1_segment.identification_code_qualifier, ("MI",))
        return self


class Loop2010BB(Loop):
    """Loop 2010BB Payer Name."""

    nm1_segment: NM1

    @model_validator(mode="after")
    def _guide(self) -> Loop2010BB:
        _expect("2010BB", "NM101", self.nm1_segment.entity_identifier_code, ("PR",))
        _expect("2010BB", "NM102", self.nm1_segment.entity_type_qualifier, ("2",))
        _expect("2010BB", "NM108", self.nm1_segment.identification_code_qualifier, ("PI", "XV"))
        return self


class Loop2310B(Loop):
    """Loop 2310B Rendering Provider Name, sent when it differs from the billing provider."""

    nm1_segment: NM1
    prv_segment: PRV | None = None

    @model_validator(mode="after")
    def _guide(self) -> Loop2310B:
        _expect("2310B", "NM101", self.nm1_segment.entity_identifier_code, ("82",))
        _expect("2310B", "NM108", self.nm1_segment.identification_code_qualifier, ("XX",))
        if self.prv_segment is not None:
            _expect("2310B", "PRV01", self.prv_segment.provider_code, ("PE",))
        return self


class Loop2400(Loop):
    """Loop 2400 Service Line: LX, SV1 and the service date."""

    lx_segment: LX
    sv1_segment: SV1
    dtp_segment: DTP

    @model_validator(mode="after")
    def _guide(self) -> Loop2400:
        _expect("2400", "DTP01", self.dtp_segment.date_time_qualifier, ("472",))
        return self


class Loop2300(Loop):
    """Loop 2300 Claim Information."""

    clm_segment: CLM
    hi_segment: HI
    loop_2310b: Loop2310B | None = None
    loop_2400: list[Loop2400] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _guide(self) -> Loop2300:
        total = sum((line.sv1_segment.line_item_charge_amount for line in self.loop_2400), Decimal(0))
        if total != self.clm_segment.total_claim_charge_amount:
            raise ValueError(f"CLM02 {self.clm_segment.total_claim_charge_amount} != sum of SV102 {total}")
        numbers = [line.lx_segment.assigned_number for line in self.loop_2400]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError("LX01 numbers the claim's service lines 1, 2, 3...")
        n_dx = len(self.hi_segment.health_care_code_information)
        for line in self.loop_2400:
            for pointer in line.sv1_segment.composite_diagnosis_code_pointer.model_dump().values():
                if pointer is not None and pointer > n_dx:
                    raise ValueError(f"SV107 pointer {pointer} exceeds the {n_dx} diagnoses in HI")
        return self


class Loop2000B(Loop):
    """Loop 2000B Subscriber Hierarchical Level, with its claims."""

    hl_segment: HL
    sbr_segment: SBR
    loop_2010ba: Loop2010BA
    loop_2010bb: Loop2010BB
    loop_2300: list[Loop2300] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _guide(self) -> Loop2000B:
        _expect("2000B", "HL03", self.hl_segment.hierarchical_level_code, ("22",))
        # No 2000C child: the patient is the subscriber.
        _expect("2000B", "HL04", self.hl_segment.hierarchical_child_code, ("0",))
        _expect("2000B", "SBR02", self.sbr_segment.individual_relationship_code, ("18",))
        return self


class Loop2000A(Loop):
    """Loop 2000A Billing Provider Hierarchical Level."""

    hl_segment: HL
    prv_segment: PRV | None = None
    loop_2010aa: Loop2010AA
    loop_2000b: list[Loop2000B] = Field(min_length=1)

    @model_validator(mode="after")
    def _guide(self) -> Loop2000A:
        _expect("2000A", "HL03", self.hl_segment.hierarchical_level_code, ("20",))
        _expect("2000A", "HL02", self.hl_segment.hierarchical_parent_id_number, (None,))
        _expect("2000A", "HL04", self.hl_segment.hierarchical_child_code, ("1",))
        if self.prv_segment is not None:
            _expect("2000A", "PRV01", self.prv_segment.provider_code, ("BI",))
        for sub in self.loop_2000b:
            if sub.hl_segment.hierarchical_parent_id_number != self.hl_segment.hierarchical_id_number:
                raise ValueError("2000B HL02 must point at its 2000A HL01")
        return self
