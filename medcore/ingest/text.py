"""Plain-text notes. A text note carries no metadata, so the caller's keywords fill the Encounter."""

from __future__ import annotations

from datetime import date
from typing import Any

from medcore.errors import IngestError
from medcore.ingest.assemble import build_encounter, stable_id
from medcore.model import Encounter, Note, Patient

# Control characters that never occur in a typed note; their presence means binary input.
_BINARY_CONTROLS = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r\f\v") | {"\x7f"}


def decode_text(data: str | bytes, source_format: str = "text", field: str = "text") -> str:
    """Decode UTF-8 input (a leading BOM is dropped) and refuse binary or empty input.

    Parameters
    ----------
    data : str or bytes
        The raw note.
    source_format, field : str
        Named in the ``IngestError`` when the input is refused.

    Returns
    -------
    str
        The text exactly as received, less a leading byte-order mark.
    """
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise IngestError(source_format, field, "input is not valid UTF-8 text") from None
    elif isinstance(data, str):
        text = data
    else:
        raise IngestError(source_format, field, f"expected str or bytes, got {type(data).__name__}")
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise IngestError(source_format, field, "note is empty")
    controls = sum(1 for ch in text[:4096] if ch in _BINARY_CONTROLS)
    if controls:
        raise IngestError(source_format, field, "input contains control bytes; it looks binary, not text")
    return text


def parse_text(
    text: str | bytes,
    *,
    encounter_id: str | None = None,
    date_of_service: date | None = None,
    patient: Patient | None = None,
    title: str | None = None,
    note_id: str | None = None,
    **encounter_fields: Any,
) -> Encounter:
    """Wrap a plain-text note in an Encounter.

    Parameters
    ----------
    text : str or bytes
        The note. Bytes must be UTF-8. It is stored unchanged (less a leading BOM), so evidence offsets
        index into exactly what was sent.
    encounter_id : str, optional
        Defaults to a stable hash of the text, so the same note always gets the same id.
    date_of_service : datetime.date, optional
        Defaults to today.
    patient : Patient, optional
        Demographics known to the caller.
    title, note_id : str, optional
        Stored on the Note.
    **encounter_fields
        Any other Encounter field (``setting``, ``place_of_service``, ``payer``, ``tenant_id``...).

    Returns
    -------
    Encounter
        With one Note of ``source_format="text"``.

    Raises
    ------
    IngestError
        Empty, binary or non-UTF-8 input.
    """
    body = decode_text(text)
    note = Note(note_id=note_id, text=body, source_format="text", title=title)
    return build_encounter(
        "text",
        notes=[note],
        encounter_id=None,
        date_of_service=None,
        patient={},
        defaults={
            **encounter_fields,
            "encounter_id": encounter_id or stable_id("txt", body),
            "date_of_service": date_of_service or date.today(),
            "patient": patient,
        },
        birth_field="patient.birth_date",
        date_field="date_of_service",
    )
