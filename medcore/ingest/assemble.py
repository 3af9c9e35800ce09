"""Turn what a parser extracted into a validated ``Encounter``.

Every parser ends here, so the rules that are the same for all formats live in one place: values found
in the source win, keyword defaults from the caller fill what the source lacks, identifiers are fitted
to the 38 characters an 837P allows, and age is derived from the birth date on the date of service.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from medcore.errors import IngestError
from medcore.model import Encounter, Note, Patient

MAX_ID = 38

# Fields a parser sets itself; everything else on Encounter may be passed through as a default.
_PARSER_FIELDS = frozenset({"encounter_id", "date_of_service", "patient", "notes", "source_diagnoses"})
ENCOUNTER_DEFAULT_FIELDS = frozenset(Encounter.model_fields) - _PARSER_FIELDS


def stable_id(prefix: str, *parts: str | bytes) -> str:
    """A short identifier that is the same every time the same content comes in."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part)
        h.update(b"\x00")
    return f"{prefix}-{h.hexdigest()[:32]}"


def fit_id(value: str | None, prefix: str) -> str | None:
    """Return ``value`` stripped, or a stable hash of it when it is longer than an Encounter id allows."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) <= MAX_ID:
        return value
    return stable_id(prefix, value)


def check_defaults(defaults: dict[str, Any]) -> None:
    unknown = sorted(set(defaults) - ENCOUNTER_DEFAULT_FIELDS)
    if unknown:
        raise TypeError(f"unknown Encounter default(s): {', '.join(unknown)}")


def merge_patient(found: dict[str, Any], default: Patient | None) -> Patient:
    """Source values first; the caller's patient fills fields the source left empty.

    Parsers leave a key out of ``found`` (or set it to None) when the source does not state it, so an
    unknown sex in the source never overwrites a sex the caller knows.
    """
    base = default.model_dump() if default is not None else {}
    for key, value in found.items():
        if value is not None:
            base[key] = value
    return Patient.model_validate(base)


def validation_reason(exc: ValidationError) -> str:
    """Describe a pydantic error by location and type only: the input values may be PHI."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        parts.append(f"{loc} ({err.get('type', 'invalid')})")
    more = len(exc.errors()) - len(parts)
    return "invalid " + ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def build_encounter(
    source_format: str,
    *,
    notes: list[Note],
    encounter_id: str | None,
    date_of_service: date | None,
    patient: dict[str, Any],
    defaults: dict[str, Any],
    birth_field: str,
    date_field: str,
    source_diagnoses: list[str] | None = None,
    found: dict[str, Any] | None = None,
) -> Encounter:
    """Assemble and validate the Encounter; ``found`` holds other Encounter fields read from the source."""
    default_patient = defaults.pop("patient", None)
    default_id = defaults.pop("encounter_id", None)
    default_dos = defaults.pop("date_of_service", None)
    check_defaults(defaults)

    dos = date_of_service or default_dos
    if isinstance(dos, datetime):
        dos = dos.date()
    if dos is None:
        raise IngestError(source_format, date_field, "no date of service in the source; pass date_of_service")
    if default_patient is not None and not isinstance(default_patient, Patient):
        default_patient = Patient.model_validate(default_patient)
    try:
        pat = merge_patient(patient, default_patient)
    except ValidationError as exc:
        raise IngestError(source_format, "patient", validation_reason(exc)) from None
    if pat.birth_date is not None:
        if pat.birth_date > dos:
            raise IngestError(source_format, birth_field, "birth date is after the date of service")
        age = pat.age_on(dos)
        if age is None or age > 130:
            raise IngestError(source_format, birth_field, "birth date gives an age over 130 years")
        pat = pat.model_copy(update={"age": age})

    fields: dict[str, Any] = {**defaults, **(found or {})}
    eid = encounter_id or fit_id(default_id, "enc")
    if eid is None:
        # Nothing names the visit: derive the id from what was received so a resend maps to the same one.
        eid = stable_id(source_format, *(n.text for n in notes), dos.isoformat(), pat.patient_id or "")
    try:
        return Encounter(
            encounter_id=eid,
            date_of_service=dos,
            patient=pat,
            notes=notes,
            source_diagnoses=source_diagnoses or [],
            **fields,
        )
    except ValidationError as exc:
        raise IngestError(source_format, "Encounter", validation_reason(exc)) from None
