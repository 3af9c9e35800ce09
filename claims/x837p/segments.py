"""The X12 segments an 837P 005010X222A1 interchange is made of, one typed model each.

Each model lists its elements in the order of the implementation guide; the description of every
field starts with the element's reference designator (``NM103``, ``SV101-2``...) so a reader holding
the guide can find it. Composite elements (``C003``, ``C004``, ``C022``, ``C023``) are their own small
models. Rendering is the only behaviour: values are converted, empty trailing elements and components
are dropped, and any value that would collide with a delimiter is refused rather than escaped (X12 has
no escaping).
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ElementValue = str | int | Decimal | date | time | None


class Delimiters(BaseModel):
    """The four separators announced in the ISA segment."""

    model_config = ConfigDict(frozen=True)

    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"

    @property
    def reserved(self) -> str:
        return self.element + self.component + self.repetition + self.segment


DEFAULT_DELIMITERS = Delimiters()


def _element(ref: str, name: str, **kwargs) -> object:
    return Field(description=f"{ref} {name}", **kwargs)


def _text(value: ElementValue) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    if isinstance(value, time):
        return value.strftime("%H%M")
    return str(value)


def format_amount(amount: Decimal) -> str:
    """Render an X12 ``R`` (decimal) value: no exponent, no trailing zeros after the point."""
    text = format(amount.quantize(Decimal("0.01")), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _check_reserved(owner: str, values: dict[str, object], reserved: str) -> None:
    for name, value in values.items():
        if isinstance(value, str):
            bad = [c for c in value if c in reserved or not c.isprintable()]
            if bad:
                raise ValueError(f"{owner}.{name} contains a delimiter or control character {bad[0]!r}")


class Composite(BaseModel):
    """A composite data element; its fields are its components in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="after")
    def _no_delimiters(self) -> Composite:
        _check_reserved(type(self).__name__, dict(self), DEFAULT_DELIMITERS.reserved)
        return self

    def render(self, delimiters: Delimiters = DEFAULT_DELIMITERS) -> str:
        parts = [_text(v) for v in dict(self).values()]
        while parts and parts[-1] == "":
            parts.pop()
        return delimiters.component.join(parts)


class Segment(BaseModel):
    """A segment; its fields are its elements in order (``XX01``, ``XX02``...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    segment_id: ClassVar[str]

    @model_validator(mode="after")
    def _no_delimiters(self) -> Segment:
        _check_reserved(self.segment_id, dict(self), DEFAULT_DELIMITERS.reserved)
        return self

    def elements(self, delimiters: Delimiters = DEFAULT_DELIMITERS) -> list[str]:
        """The rendered elements, with trailing empty ones removed."""
        out = [v.render(delimiters) if isinstance(v, Composite) else _text(v) for v in dict(self).values()]
        while out and out[-1] == "":
            out.pop()
        return out

    def render(self, delimiters: Delimiters = DEFAULT_DELIMITERS) -> str:
        return delimiters.element.join([self.segment_id, *self.elements(delimiters)]) + delimiters.segment


# --- envelopes -----------------------------------------------------------------------------------


class ISA(Segment):
    """Interchange Control Header. Every element is fixed width and always present."""

    segment_id: ClassVar[str] = "ISA"

    authorization_information_qualifier: Literal["00"] = _element("ISA01", "Authorization Information Qualifier", default="00")
    authorization_information: str = _element("ISA02", "Authorization Information", default=" " * 10, min_length=10, max_length=10)
    security_information_qualifier: Literal["00"] = _element("ISA03", "Security Information Qualifier", default="00")
    security_information: str = _element("ISA04", "Security Information", default=" " * 10, min_length=10, max_length=10)
    interchange_sender_id_qualifier: str = _element("ISA05", "Interchange ID Qualifier", default="ZZ", min_length=2, max_length=2)
    interchange_sender_id: str = _element("ISA06", "Interchange Sender ID", min_length=15, max_length=15)
    interchange_receiver_id_qualifier: str = _element("ISA07", "Interchange ID Qualifier", default="ZZ", min_length=2, max_length=2)
    interchange_receiver_id: str = _element("ISA08", "Interchange Receiver ID", min_length=15, max_length=15)
    interchange_date: str = _element("ISA09", "Interchange Date (YYMMDD)", pattern=r"^\d{6}$")
    interchange_time: str = _element("ISA10", "Interchange Time (HHMM)", pattern=r"^\d{4}$")
    repetition_separator: str = _element("ISA11", "Repetition Separator", default="^", min_length=1, max_length=1)
    interchange_control_version_number: Literal["00501"] = _element("ISA12", "Interchange Control Version Number", default="00501")
    interchange_control_number: str = _element("ISA13", "Interchange Control Number", pattern=r"^\d{9}$")
    acknowledgment_requested: Literal["0", "1"] = _element("ISA14", "Acknowledgment Requested", default="0")
    interchange_usage_indicator: Literal["P", "T"] = _element("ISA15", "Interchange Usage Indicator", default="T")
    component_element_separator: str = _element("ISA16", "Component Element Separator", default=":", min_length=1, max_length=1)

    @model_validator(mode="after")
    def _no_delimiters(self) -> ISA:
        # ISA11 and ISA16 *are* delimiters; only the identifiers need checking.
        ids = {"interchange_sender_id": self.interchange_sender_id, "interchange_receiver_id": self.interchange_receiver_id}
        _check_reserved("ISA", ids, DEFAULT_DELIMITERS.reserved)
        return self

    def elements(self, delimiters: Delimiters = DEFAULT_DELIMITERS) -> list[str]:
        # Fixed width: the reader finds the delimiters by byte position, so nothing is trimmed.
        return [_text(v) for v in dict(self).values()]


class GS(Segment):
    """Functional Group Header."""

    segment_id: ClassVar[str] = "GS"

    functional_identifier_code: Literal["HC"] = _element("GS01", "Functional Identifier Code", default="HC")
    application_sender_code: str = _element("GS02", "Application Sender's Code", min_length=2, max_length=15)
    application_receiver_code: str = _element("GS03", "Application Receiver's Code", min_length=2, max_length=15)
    creation_date: date = _element("GS04", "Date (CCYYMMDD)")
    creation_time: time = _element("GS05", "Time (HHMM)")
    group_control_number: int = _element("GS06", "Group Control Number", ge=1, le=999_999_999)
    responsible_agency_code: Literal["X"] = _element("GS07", "Responsible Agency Code", default="X")
    version_identifier_code: Literal["005010X222A1"] = _element("GS08", "Version / Release / Industry Identifier Code", default="005010X222A1")


class GE(Segment):
    """Functional Group Trailer."""

    segment_id: ClassVar[str] = "GE"

    number_of_transaction_sets_included: int = _element("GE01", "Number of Transaction Sets Included", ge=1)
    group_control_number: int = _element("GE02", "Group Control Number", ge=1, le=999_999_999)


class IEA(Segment):
    """Interchange Control Trailer."""

    segment_id: ClassVar[str] = "IEA"

    number_of_included_functional_groups: int = _element("IEA01", "Number of Included Functional Groups", ge=1)
    interchange_control_number: str = _element("IEA02", "Interchange Control Number", pattern=r"^\d{9}$")


class ST(Segment):
    """Transaction Set Header."""

    segment_id: ClassVar[str] = "ST"

    transaction_set_identifier_code: Literal["837"] = _element("ST01", "Transaction Set Identifier Code", default="837")
    transaction_set_control_number: str = _element("ST02", "Transaction Set Control Number", min_length=4, max_length=9)
    implementation_convention_reference: Literal["005010X222A1"] = _element("ST03", "Implementation Convention Reference", default="005010X222A1")


class SE(Segment):
    """Transaction Set Trailer."""

    segment_id: ClassVar[str] = "SE"

    number_of_included_segments: int = _element("SE01", "Number of Included Segments (ST to SE inclusive)", ge=2)
    transaction_set_control_number: str = _element("SE02", "Transaction Set Control Number", min_length=4, max_length=9)


# --- transaction segments ------------------------------------------------------------------------


class BHT(Segment):
    """Beginning of Hierarchical Transaction."""

    segment_id: ClassVar[str] = "BHT"

    hierarchical_structure_code: Literal["0019"] = _element("BHT01", "Hierarchical Structure Code", default="0019")
    transaction_set_purpose_code: Literal["00", "18"] = _element("BHT02", "Transaction Set Purpose Code (00 original, 18 reissue)", default="00")
    originator_application_transaction_identifier: str = _element("BHT03", "Originator Application Transaction Identifier", min_length=1, max_length=50)
    transaction_set_creation_date: date = _element("BHT04", "Transaction Set Creation Date")
    transaction_set_creation_time: time = _element("BHT05", "Transaction Set Creation Time")
    claim_or_encounter_identifier: Literal["CH", "RP", "31"] = _element("BHT06", "Claim or Encounter Identifier (CH chargeable)", default="CH")


class NM1(Segment):
    """Individual or Organizational Name."""

    segment_id: ClassVar[str] = "NM1"

    entity_identifier_code: str = _element("NM101", "Entity Identifier Code", min_length=2, max_length=3)
    entity_type_qualifier: Literal["1", "2"] = _element("NM102", "Entity Type Qualifier (1 person, 2 non-person)")
    name_last_or_organization_name: str = _element("NM103", "Name Last or Organization Name", min_length=1, max_length=60)
    name_first: str | None = _element("NM104", "Name First", default=None, max_length=35)
    name_middle: str | None = _element("NM105", "Name Middle", default=None, max_length=25)
    name_prefix: None = _element("NM106", "Name Prefix (not used)", default=None)
    name_suffix: str | None = _element("NM107", "Name Suffix", default=None, max_length=10)
    identification_code_qualifier: str | None = _element("NM108", "Identification Code Qualifier", default=None, max_length=2)
    identification_code: str | None = _element("NM109", "Identification Code", default=None, min_length=2, max_length=80)

    @model_validator(mode="after")
    def _paired_id(self) -> NM1:
        if (self.identification_code_qualifier is None) != (self.identification_code is None):
            raise ValueError("NM108 and NM109 are used together")
        if self.entity_type_qualifier == "2" and (self.name_first or self.name_middle):
            raise ValueError("NM104/NM105 are person names; NM102 is 2 (non-person)")
        return self


class PER(Segment):
    """Administrative Communications Contact."""

    segment_id: ClassVar[str] = "PER"

    contact_function_code: Literal["IC"] = _element("PER01", "Contact Function Code (IC information contact)", default="IC")
    name: str | None = _element("PER02", "Name", default=None, max_length=60)
    communication_number_qualifier_1: Literal["TE", "EM", "FX"] = _element("PER03", "Communication Number Qualifier")
    communication_number_1: str = _element("PER04", "Communication Number", min_length=1, max_length=256)


class HL(Segment):
    """Hierarchical Level."""

    segment_id: ClassVar[str] = "HL"

    hierarchical_id_number: int = _element("HL01", "Hierarchical ID Number", ge=1)
    hierarchical_parent_id_number: int | None = _element("HL02", "Hierarchical Parent ID Number", default=None, ge=1)
    hierarchical_level_code: Literal["20", "22", "23"] = _element("HL03", "Hierarchical Level Code (20 billing, 22 subscriber, 23 patient)")
    hierarchical_child_code: Literal["0", "1"] = _element("HL04", "Hierarchical Child Code")


class PRV(Segment):
    """Provider Information (taxonomy)."""

    segment_id: ClassVar[str] = "PRV"

    provider_code: Literal["BI", "PE"] = _element("PRV01", "Provider Code (BI billing, PE performing)")
    reference_identification_qualifier: Literal["PXC"] = _element("PRV02", "Reference Identification Qualifier", default="PXC")
    reference_identification: str = _element("PRV03", "Provider Taxonomy Code", pattern=r"^[0-9A-Z]{9}X$")


class N3(Segment):
    """Party Location (street address)."""

    segment_id: ClassVar[str] = "N3"

    address_information_1: str = _element("N301", "Address Information", min_length=1, max_length=55)
    address_information_2: str | None = _element("N302", "Address Information", default=None, max_length=55)


class N4(Segment):
    """Geographic Location."""

    segment_id: ClassVar[str] = "N4"

    city_name: str = _element("N401", "City Name", min_length=2, max_length=30)
    state_or_province_code: str | None = _element("N402", "State or Province Code", default=None, pattern=r"^[A-Z]{2}$")
    postal_code: str | None = _element("N403", "Postal Code", default=None, pattern=r"^\d{5}(\d{4})?$")


class REF(Segment):
    """Reference Information."""

    segment_id: ClassVar[str] = "REF"

    reference_identification_qualifier: str = _element("REF01", "Reference Identification Qualifier", min_length=2, max_length=3)
    reference_identification: str = _element("REF02", "Reference Identification", min_length=1, max_length=50)


class SBR(Segment):
    """Subscriber Information."""

    segment_id: ClassVar[str] = "SBR"

    payer_responsibility_sequence_number_code: Literal["P", "S", "T"] = _element("SBR01", "Payer Responsibility Sequence Number Code", default="P")
    individual_relationship_code: Literal["18"] | None = _element("SBR02", "Individual Relationship Code (18 self)", default="18")
    reference_identification: str | None = _element("SBR03", "Subscriber Group or Policy Number", default=None, max_length=50)
    name: str | None = _element("SBR04", "Subscriber Group Name", default=None, max_length=60)
    insurance_type_code: str | None = _element("SBR05", "Insurance Type Code", default=None, max_length=3)
    coordination_of_benefits_code: None = _element("SBR06", "Coordination of Benefits Code (not used)", default=None)
    yes_no_condition_or_response_code: None = _element("SBR07", "Yes/No Condition or Response Code (not used)", default=None)
    employment_status_code: None = _element("SBR08", "Employment Status Code (not used)", default=None)
    claim_filing_indicator_code: str = _element("SBR09", "Claim Filing Indicator Code", min_length=1, max_length=2)


class DMG(Segment):
    """Demographic Information."""

    segment_id: ClassVar[str] = "DMG"

    date_time_period_format_qualifier: Literal["D8"] = _element("DMG01", "Date Time Period Format Qualifier", default="D8")
    date_time_period: date = _element("DMG02", "Date of Birth (CCYYMMDD)")
    gender_code: Literal["F", "M", "U"] = _element("DMG03", "Gender Code")


class HealthCareServiceLocation(Composite):
    """C023 Health Care Service Location Information (CLM05)."""

    facility_code_value: str = _element("CLM05-1", "Place of Service Code", pattern=r"^\d{2}$")
    facility_code_qualifier: Literal["B"] = _element("CLM05-2", "Facility Code Qualifier (B place of service)", default="B")
    claim_frequency_type_code: Literal["1", "7", "8"] = _element("CLM05-3", "Claim Frequency Type Code (1 original)", default="1")


class CLM(Segment):
    """Claim Information."""

    segment_id: ClassVar[str] = "CLM"

    patient_control_number: str = _element("CLM01", "Patient Control Number (the claim id)", min_length=1, max_length=38)
    total_claim_charge_amount: Decimal = _element("CLM02", "Total Claim Charge Amount", ge=0)
    claim_filing_indicator_code: None = _element("CLM03", "Claim Filing Indicator Code (not used)", default=None)
    non_institutional_claim_type_code: None = _element("CLM04", "Non-Institutional Claim Type Code (not used)", default=None)
    health_care_service_location_information: HealthCareServiceLocation = _element("CLM05", "Health Care Service Location Information")
    provider_or_supplier_signature_indicator: Literal["Y", "N"] = _element("CLM06", "Provider or Supplier Signature Indicator", default="Y")
    assignment_or_plan_participation_code: Literal["A", "B", "C"] = _element("CLM07", "Assignment or Plan Participation Code", default="A")
    benefits_assignment_certification_indicator: Literal["Y", "N", "W"] = _element("CLM08", "Benefits Assignment Certification Indicator", default="Y")
    release_of_information_code: Literal["Y", "I"] = _element("CLM09", "Release of Information Code", default="Y")


class HealthCareCode(Composite):
    """C022 Health Care Code Information (one diagnosis in HI)."""

    code_list_qualifier_code: Literal["ABK", "ABF"] = _element("HI0n-1", "Code List Qualifier Code (ABK principal, ABF other)")
    industry_code: str = _element("HI0n-2", "Diagnosis Code, without the decimal point", pattern=r"^[A-Z][0-9][0-9A-Z]{1,5}$")


class HI(Segment):
    """Health Care Diagnosis Code: up to twelve ICD-10-CM codes, principal first."""

    segment_id: ClassVar[str] = "HI"

    health_care_code_information: list[HealthCareCode] = _element("HI01-HI12", "Health Care Code Information", min_length=1, max_length=12)

    @model_validator(mode="after")
    def _qualifiers(self) -> HI:
        quals = [c.code_list_qualifier_code for c in self.health_care_code_information]
        if quals[0] != "ABK" or any(q != "ABF" for q in quals[1:]):
            raise ValueError("HI01 carries ABK (principal diagnosis) and HI02-HI12 carry ABF")
        return self

    def elements(self, delimiters: Delimiters = DEFAULT_DELIMITERS) -> list[str]:
        return [c.render(delimiters) for c in self.health_care_code_information]


class LX(Segment):
    """Service Line Number."""

    segment_id: ClassVar[str] = "LX"

    assigned_number: int = _element("LX01", "Assigned Number", ge=1, le=50)


class ProcedureIdentifier(Composite):
    """C003 Composite Medical Procedure Identifier (SV101)."""

    product_or_service_id_qualifier: Literal["HC"] = _element("SV101-1", "Product/Service ID Qualifier (HC CPT/HCPCS)", default="HC")
    procedure_code: str = _element("SV101-2", "Procedure Code", pattern=r"^[0-9A-Z]{5}$")
    procedure_modifier_1: str | None = _element("SV101-3", "Procedure Modifier", default=None, pattern=r"^[0-9A-Z]{2}$")
    procedure_modifier_2: str | None = _element("SV101-4", "Procedure Modifier", default=None, pattern=r"^[0-9A-Z]{2}$")
    procedure_modifier_3: str | None = _element("SV101-5", "Procedure Modifier", default=None, pattern=r"^[0-9A-Z]{2}$")
    procedure_modifier_4: str | None = _element("SV101-6", "Procedure Modifier", default=None, pattern=r"^[0-9A-Z]{2}$")

    @property
    def modifiers(self) -> list[str]:
        mods = [self.procedure_modifier_1, self.procedure_modifier_2, self.procedure_modifier_3, self.procedure_modifier_4]
        return [m for m in mods if m]


class DiagnosisCodePointer(Composite):
    """C004 Composite Diagnosis Code Pointer (SV107): positions in the claim's HI list, 1 to 12."""

    diagnosis_code_pointer_1: int = _element("SV107-1", "Diagnosis Code Pointer", ge=1, le=12)
    diagnosis_code_pointer_2: int | None = _element("SV107-2", "Diagnosis Code Pointer", default=None, ge=1, le=12)
    diagnosis_code_pointer_3: int | None = _element("SV107-3", "Diagnosis Code Pointer", default=None, ge=1, le=12)
    diagnosis_code_pointer_4: int | None = _element("SV107-4", "Diagnosis Code Pointer", default=None, ge=1, le=12)


class SV1(Segment):
    """Professional Service."""

    segment_id: ClassVar[str] = "SV1"

    composite_medical_procedure_identifier: ProcedureIdentifier = _element("SV101", "Composite Medical Procedure Identifier")
    line_item_charge_amount: Decimal = _element("SV102", "Line Item Charge Amount", ge=0)
    unit_or_basis_for_measurement_code: Literal["UN", "MJ"] = _element("SV103", "Unit or Basis for Measurement Code", default="UN")
    service_unit_count: int = _element("SV104", "Service Unit Count", ge=1, le=99999)
    place_of_service_code: str | None = _element("SV105", "Place of Service Code (only when it differs from CLM05-1)", default=None, pattern=r"^\d{2}$")
    service_type_code: None = _element("SV106", "Service Type Code (not used)", default=None)
    composite_diagnosis_code_pointer: DiagnosisCodePointer = _element("SV107", "Composite Diagnosis Code Pointer")


class DTP(Segment):
    """Date or Time Period, single date (D8)."""

    segment_id: ClassVar[str] = "DTP"

    date_time_qualifier: str = _element("DTP01", "Date/Time Qualifier (472 service)", pattern=r"^\d{3}$")
    date_time_period_format_qualifier: Literal["D8"] = _element("DTP02", "Date Time Period Format Qualifier", default="D8")
    date_time_period: date = _element("DTP03", "Date Time Period (CCYYMMDD)")
