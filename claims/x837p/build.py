"""Build professional claims and their 837P 005010X222A1 interchange from coded encounters.

Two steps, both strict: :func:`claim_from_encounter` turns a coded :class:`~medcore.model.Encounter`
into a :class:`~medcore.model.Claim`, and :func:`build_837p` writes one interchange for any number of
``(encounter, claim)`` pairs. Anything the guide requires and the encounter lacks raises
:class:`~medcore.errors.ClaimBuildError` naming the field; nothing is guessed. The one documented
exception is ``allow_estimated_dob`` (see :func:`claim_from_encounter`).

Patient and provider names are read as ``LAST^FIRST^MIDDLE^SUFFIX`` (HL7 style), ``LAST, FIRST MIDDLE``,
or ``FIRST [MIDDLE] LAST``. Text is upper-cased and accents are folded to ASCII, as clearinghouses
expect; a value holding an X12 delimiter (``* : ^ ~``) is refused.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from claims.npi import is_valid_npi
from claims.x837p.encounter_checks import (
    CLAIM_FILING,
    ICD10CM_PATTERN,
    MAX_DIAGNOSES,
    check_lines,
    check_patient,
    check_payer,
    diagnosis_codes,
    money,
    subscriber_birth_date,
)
from claims.x837p.loops import (
    Header,
    Loop1000A,
    Loop1000B,
    Loop2000A,
    Loop2000B,
    Loop2010AA,
    Loop2010BA,
    Loop2010BB,
    Loop2300,
    Loop2310B,
    Loop2400,
)
from claims.x837p.segments import (
    BHT,
    CLM,
    DMG,
    DTP,
    GS,
    HI,
    HL,
    ISA,
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
    DiagnosisCodePointer,
    HealthCareCode,
    HealthCareServiceLocation,
    ProcedureIdentifier,
)
from claims.x837p.transaction import HealthCareClaimProfessional, Interchange
from claims.x837p.x12_text import person_name, x12_text
from medcore.errors import ClaimBuildError
from medcore.model import (
    Claim,
    Encounter,
    ProcedureLine,
    Provider,
    ScrubFinding,
    Severity,
)
from medcore.settings import Settings, get_settings

__all__ = [
    "ESTIMATED_DOB_RULE",
    "MAX_DIAGNOSES",
    "SubmitterContact",
    "build_837p",
    "build_interchange",
    "claim_from_encounter",
]

ESTIMATED_DOB_RULE = "CLAIM-ESTIMATED-DOB"
"""``rule_id`` of the finding that records an estimated birth date on a claim."""


class SubmitterContact(BaseModel):
    """Loop 1000A PER: who at the submitter a clearinghouse calls about the file.

    ``medcore.settings`` has no submitter contact yet; the default is a fictional 555 number that
    fits the demo billing practice. Pass a real one for production files.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "BILLING OFFICE"
    phone: str = Field(default="8005550100", pattern=r"^\d{10}(\d{1,5})?$")


# --- claim ---------------------------------------------------------------------------------------


def claim_from_encounter(
    encounter: Encounter,
    claim_id: str | None = None,
    *,
    allow_estimated_dob: bool = False,
) -> Claim:
    """Derive a professional claim from a coded encounter.

    Parameters
    ----------
    encounter : Encounter
        A coded encounter: ICD-10-CM ``diagnoses`` and CPT/HCPCS ``procedures``, plus the patient's
        name, birth date and member id and the payer the 837P needs.
    claim_id : str, optional
        CLM01, the provider's claim identifier (at most 38 characters, no X12 delimiters).
        Defaults to ``encounter.encounter_id``.
    allow_estimated_dob : bool, default False
        When the patient has an ``age`` but no ``birth_date``, estimate the birth date as January 1
        of (year of service − age) instead of failing. The claim then carries a warning finding with
        ``rule_id`` :data:`ESTIMATED_DOB_RULE`, which :func:`build_837p` requires before it writes an
        estimated DMG02. Payers match members on birth date, so such a claim may be rejected.

    Returns
    -------
    Claim
        ``diagnosis_codes`` in rank order without dots (at most 12), the encounter's procedure lines,
        and ``total_charge`` equal to the sum of the line charges.

    Raises
    ------
    ClaimBuildError
        Naming the field at fault, for example ``diagnoses`` (none, or more than 12),
        ``procedures[1].dx_pointers`` (a pointer beyond the diagnoses), ``patient.member_id``,
        ``patient.name`` or ``patient.birth_date``.
    """
    claim_id = encounter.encounter_id if claim_id is None else claim_id
    x12_text(claim_id, "claim_id", max_length=38, upper=False)
    codes = diagnosis_codes(encounter)
    lines = list(encounter.procedures)
    check_lines(lines, len(codes), "procedures")
    check_patient(encounter)
    subscriber_birth_date(encounter, estimated_allowed=allow_estimated_dob)  # raises when DMG02 cannot be written
    findings = [_estimated_dob_finding()] if encounter.patient.birth_date is None else []
    check_payer(encounter)
    try:
        return Claim(
            claim_id=claim_id,
            encounter_id=encounter.encounter_id,
            tenant_id=encounter.tenant_id,
            total_charge=float(sum((money(line.charge) for line in lines), Decimal(0))),
            diagnosis_codes=codes,
            lines=[line.model_copy(deep=True) for line in lines],
            findings=findings,
        )
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "claim"
        raise ClaimBuildError(field, exc.errors()[0]["msg"]) from None


def _estimated_dob_finding() -> ScrubFinding:
    return ScrubFinding(
        rule_id=ESTIMATED_DOB_RULE,
        severity=Severity.warning,
        message="The 837P birth date (2010BA DMG02) is estimated from the patient's age as January 1; "
        "the real birth date is not on file.",
        fix="Record the patient's birth date and rebuild the claim.",
    )


# --- 837P ----------------------------------------------------------------------------------------


def build_837p(
    items: list[tuple[Encounter, Claim]],
    *,
    settings: Settings | None = None,
    control_number: int = 1,
    created: datetime | None = None,
    usage_indicator: Literal["T", "P"] = "T",
    submitter_contact: SubmitterContact | None = None,
) -> str:
    """Write one 837P 005010X222A1 interchange holding every claim.

    Parameters
    ----------
    items : list of (Encounter, Claim)
        Each claim with the encounter it came from (see :func:`claim_from_encounter`). The claim
        supplies CLM01, the diagnoses and the service lines; the encounter supplies the patient
        (billed as the subscriber, ``SBR02 = 18``), payer, place and date of service, and billing and
        rendering providers.
    settings : Settings, optional
        Submitter and receiver ids, and the billing provider used when an encounter names none.
        Defaults to :func:`medcore.settings.get_settings`.
    control_number : int, default 1
        ISA13 (zero-padded to nine digits), GS06 and ST02 (at least four digits); the trailers repeat them.
    created : datetime, optional
        ISA09/ISA10, GS04/GS05 and BHT04/BHT05. Defaults to now.
    usage_indicator : {"T", "P"}, default "T"
        ISA15: test or production data.
    submitter_contact : SubmitterContact, optional
        Loop 1000A PER; defaults to :class:`SubmitterContact`'s demo contact.

    Returns
    -------
    str
        The interchange, segments terminated by ``~`` (one per line), elements separated by ``*``,
        components by ``:`` and repetitions by ``^``.

    Raises
    ------
    ClaimBuildError
        Naming the field at fault when a claim cannot be written as the guide requires.
    """
    return build_interchange(
        items,
        settings=settings,
        control_number=control_number,
        created=created,
        usage_indicator=usage_indicator,
        submitter_contact=submitter_contact,
    ).render()


def build_interchange(
    items: list[tuple[Encounter, Claim]],
    *,
    settings: Settings | None = None,
    control_number: int = 1,
    created: datetime | None = None,
    usage_indicator: Literal["T", "P"] = "T",
    submitter_contact: SubmitterContact | None = None,
) -> Interchange:
    """Build the typed interchange model that :func:`build_837p` renders; same parameters."""
    if not items:
        raise ClaimBuildError("items", "no claims to write")
    if not 1 <= control_number <= 999_999_999:
        raise ClaimBuildError("control_number", "must be 1 to 999999999")
    settings = settings or get_settings()
    created = (created or datetime.now()).replace(second=0, microsecond=0)
    contact = submitter_contact or SubmitterContact()
    try:
        return _interchange(items, settings, control_number, created, usage_indicator, contact)
    except ValidationError as exc:
        # The encounter-level checks run first, so reaching here means a value the guide constrains
        # (a length, a code pattern) slipped through; report the segment element it broke.
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or exc.title
        raise ClaimBuildError(f"{exc.title}.{where}", first["msg"]) from None


def _interchange(
    items: list[tuple[Encounter, Claim]],
    settings: Settings,
    control_number: int,
    created: datetime,
    usage_indicator: Literal["T", "P"],
    contact: SubmitterContact,
) -> Interchange:
    submitter_id = x12_text(settings.submitter_id, "settings.submitter_id", max_length=15, min_length=2)
    receiver_id = x12_text(settings.receiver_id, "settings.receiver_id", max_length=15, min_length=2)
    st_control = f"{control_number:04d}"

    # One 2000A per billing provider, in the order each first appears.
    by_provider: dict[str, tuple[Provider, list[tuple[Encounter, Claim]]]] = {}
    for encounter, claim in items:
        provider = encounter.billing_provider or _default_billing_provider(settings)
        by_provider.setdefault(provider.model_dump_json(), (provider, []))[1].append((encounter, claim))

    hl_id = 0
    billing_loops: list[Loop2000A] = []
    for provider, pairs in by_provider.values():
        hl_id += 1
        billing_hl = hl_id
        subscribers: list[Loop2000B] = []
        for encounter, claim in pairs:
            hl_id += 1
            subscribers.append(_loop_2000b(encounter, claim, provider, hl_id, billing_hl))
        billing_loops.append(
            Loop2000A(
                hl_segment=HL(hierarchical_id_number=billing_hl, hierarchical_level_code="20", hierarchical_child_code="1"),
                prv_segment=PRV(provider_code="BI", reference_identification=provider.taxonomy) if provider.taxonomy else None,
                loop_2010aa=_loop_2010aa(provider, "billing_provider." if pairs[0][0].billing_provider else "settings.billing_"),
                loop_2000b=subscribers,
            )
        )

    transaction = HealthCareClaimProfessional(
        header=Header(
            st_segment=ST(transaction_set_control_number=st_control),
            bht_segment=BHT(
                originator_application_transaction_identifier=f"{control_number:09d}",
                transaction_set_creation_date=created.date(),
                transaction_set_creation_time=created.time(),
            ),
        ),
        loop_1000a=Loop1000A(
            nm1_segment=NM1(
                entity_identifier_code="41",
                entity_type_qualifier="2",
                name_last_or_organization_name=x12_text(settings.billing_name, "settings.billing_name", max_length=60),
                identification_code_qualifier="46",
                identification_code=submitter_id,
            ),
            per_segment=PER(
                name=x12_text(contact.name, "submitter_contact.name", max_length=60),
                communication_number_qualifier_1="TE",
                communication_number_1=contact.phone,
            ),
        ),
        loop_1000b=Loop1000B(
            nm1_segment=NM1(
                entity_identifier_code="40",
                entity_type_qualifier="2",
                # Settings has no receiver name; the receiver's id names it.
                name_last_or_organization_name=receiver_id,
                identification_code_qualifier="46",
                identification_code=receiver_id,
            )
        ),
        loop_2000a=billing_loops,
    )
    return Interchange(
        isa=ISA(
            interchange_sender_id=submitter_id.ljust(15),
            interchange_receiver_id=receiver_id.ljust(15),
            interchange_date=created.strftime("%y%m%d"),
            interchange_time=created.strftime("%H%M"),
            interchange_control_number=f"{control_number:09d}",
            interchange_usage_indicator=usage_indicator,
        ),
        gs=GS(
            application_sender_code=submitter_id,
            application_receiver_code=receiver_id,
            creation_date=created.date(),
            creation_time=created.time(),
            group_control_number=control_number,
        ),
        transactions=[transaction],
    )


def _default_billing_provider(settings: Settings) -> Provider:
    try:
        return Provider(
            npi=settings.billing_npi,
            name=settings.billing_name,
            tax_id=settings.billing_tax_id,
            address=settings.billing_address,
            city=settings.billing_city,
            state=settings.billing_state,
            zip=settings.billing_zip,
        )
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        raise ClaimBuildError(f"settings.billing_{field}", exc.errors()[0]["msg"]) from None


def _loop_2010aa(provider: Provider, prefix: str) -> Loop2010AA:
    if not is_valid_npi(provider.npi):
        raise ClaimBuildError(f"{prefix}npi", "fails the NPI check digit (Luhn with prefix 80840)")
    if not provider.tax_id:
        raise ClaimBuildError(f"{prefix}tax_id", "the billing provider's EIN (2010AA REF*EI) is required")
    for field in ("address", "city", "state", "zip"):
        if not getattr(provider, field):
            raise ClaimBuildError(f"{prefix}{field}", "the billing provider's address (2010AA N3/N4) is required")
    if len(provider.zip or "") != 9:
        raise ClaimBuildError(f"{prefix}zip", "the billing provider needs the nine-digit ZIP+4 (2010AA N403)")
    return Loop2010AA(
        nm1_segment=NM1(
            entity_identifier_code="85",
            entity_type_qualifier="2",
            name_last_or_organization_name=x12_text(provider.name, f"{prefix}name", max_length=60),
            identification_code_qualifier="XX",
            identification_code=provider.npi,
        ),
        n3_segment=N3(address_information_1=x12_text(provider.address, f"{prefix}address", max_length=55)),
        n4_segment=N4(
            city_name=x12_text(provider.city, f"{prefix}city", max_length=30, min_length=2),
            state_or_province_code=provider.state,
            postal_code=provider.zip,
        ),
        ref_segment=REF(reference_identification_qualifier="EI", reference_identification=provider.tax_id),
    )


def _loop_2000b(encounter: Encounter, claim: Claim, billing: Provider, hl_id: int, parent_hl: int) -> Loop2000B:
    if claim.encounter_id != encounter.encounter_id:
        raise ClaimBuildError("claim.encounter_id", "the claim was not built from the encounter it is paired with")
    check_patient(encounter)
    check_payer(encounter)
    birth_date = subscriber_birth_date(
        encounter, estimated_allowed=any(f.rule_id == ESTIMATED_DOB_RULE for f in claim.findings)
    )
    last, first, middle, suffix = person_name(encounter.patient.name or "", "patient.name")
    payer = encounter.payer
    return Loop2000B(
        hl_segment=HL(
            hierarchical_id_number=hl_id,
            hierarchical_parent_id_number=parent_hl,
            hierarchical_level_code="22",
            hierarchical_child_code="0",
        ),
        sbr_segment=SBR(payer_responsibility_sequence_number_code="P", claim_filing_indicator_code=CLAIM_FILING[payer.kind]),
        loop_2010ba=Loop2010BA(
            nm1_segment=NM1(
                entity_identifier_code="IL",
                entity_type_qualifier="1",
                name_last_or_organization_name=last,
                name_first=first,
                name_middle=middle,
                name_suffix=suffix,
                identification_code_qualifier="MI",
                identification_code=x12_text(encounter.patient.member_id, "patient.member_id", max_length=80, min_length=2),
            ),
            dmg_segment=DMG(date_time_period=birth_date, gender_code=encounter.patient.sex.value),
        ),
        loop_2010bb=Loop2010BB(
            nm1_segment=NM1(
                entity_identifier_code="PR",
                entity_type_qualifier="2",
                name_last_or_organization_name=x12_text(payer.name, "payer.name", max_length=60),
                identification_code_qualifier="PI",
                identification_code=x12_text(payer.payer_id, "payer.payer_id", max_length=80, min_length=2),
            )
        ),
        loop_2300=[_loop_2300(encounter, claim, billing)],
    )


def _loop_2300(encounter: Encounter, claim: Claim, billing: Provider) -> Loop2300:
    claim_id = x12_text(claim.claim_id, "claim.claim_id", max_length=38, upper=False)
    codes = claim.diagnosis_codes
    for i, code in enumerate(codes):
        if not ICD10CM_PATTERN.match(code):
            raise ClaimBuildError(f"claim.diagnosis_codes[{i}]", f"{code!r} is not an ICD-10-CM code without its dot")
    check_lines(claim.lines, len(codes), "claim.lines")
    charges = [money(line.charge) for line in claim.lines]
    total = sum(charges, Decimal(0))
    if money(claim.total_charge) != total:
        raise ClaimBuildError("claim.total_charge", f"{claim.total_charge} is not the sum of the line charges ({total})")
    service_lines = [
        _loop_2400(number, line, charge, encounter.date_of_service)
        for number, (line, charge) in enumerate(zip(claim.lines, charges, strict=True), start=1)
    ]
    return Loop2300(
        clm_segment=CLM(
            patient_control_number=claim_id,
            total_claim_charge_amount=total,
            health_care_service_location_information=HealthCareServiceLocation(facility_code_value=encounter.place_of_service),
        ),
        hi_segment=HI(
            health_care_code_information=[
                HealthCareCode(code_list_qualifier_code="ABK" if i == 0 else "ABF", industry_code=code)
                for i, code in enumerate(codes)
            ]
        ),
        loop_2310b=_loop_2310b(encounter.rendering_provider, billing),
        loop_2400=service_lines,
    )


def _loop_2310b(rendering: Provider | None, billing: Provider) -> Loop2310B | None:
    if rendering is None or rendering.npi == billing.npi:
        return None
    if not is_valid_npi(rendering.npi):
        raise ClaimBuildError("rendering_provider.npi", "fails the NPI check digit (Luhn with prefix 80840)")
    if "^" in rendering.name or "," in rendering.name:
        last, first, middle, suffix = person_name(rendering.name, "rendering_provider.name")
        nm1 = NM1(
            entity_identifier_code="82",
            entity_type_qualifier="1",
            name_last_or_organization_name=last,
            name_first=first,
            name_middle=middle,
            name_suffix=suffix,
            identification_code_qualifier="XX",
            identification_code=rendering.npi,
        )
    else:
        nm1 = NM1(
            entity_identifier_code="82",
            entity_type_qualifier="2",
            name_last_or_organization_name=x12_text(rendering.name, "rendering_provider.name", max_length=60),
            identification_code_qualifier="XX",
            identification_code=rendering.npi,
        )
    prv = PRV(provider_code="PE", reference_identification=rendering.taxonomy) if rendering.taxonomy else None
    return Loop2310B(nm1_segment=nm1, prv_segment=prv)


def _loop_2400(number: int, line: ProcedureLine, charge: Decimal, date_of_service: date) -> Loop2400:
    mods = [*line.modifiers, None, None, None, None]
    pointers = [*line.dx_pointers, None, None, None]
    return Loop2400(
        lx_segment=LX(assigned_number=number),
        sv1_segment=SV1(
            composite_medical_procedure_identifier=ProcedureIdentifier(
                procedure_code=line.code,
                procedure_modifier_1=mods[0],
                procedure_modifier_2=mods[1],
                procedure_modifier_3=mods[2],
                procedure_modifier_4=mods[3],
            ),
            line_item_charge_amount=charge,
            service_unit_count=line.units,
            composite_diagnosis_code_pointer=DiagnosisCodePointer(
                diagnosis_code_pointer_1=pointers[0],
                diagnosis_code_pointer_2=pointers[1],
                diagnosis_code_pointer_3=pointers[2],
                diagnosis_code_pointer_4=pointers[3],
            ),
        ),
        dtp_segment=DTP(date_time_qualifier="472", date_time_period=line.service_date or date_of_service),
    )
