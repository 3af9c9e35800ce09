"""One entry point for every input format: sniff what arrived and hand it to its parser."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from medcore.errors import IngestError
from medcore.ingest.ccda import parse_ccda
from medcore.ingest.fhir import parse_fhir
from medcore.ingest.hl7v2 import parse_hl7
from medcore.ingest.text import parse_text
from medcore.model import Encounter

Format = Literal["auto", "text", "fhir", "hl7", "ccda"]
FORMATS: tuple[str, ...] = ("auto", "text", "fhir", "hl7", "ccda")

_HL7_START = re.compile(r"^(?:MSH|FHS|BHS)[^A-Za-z0-9\s]")
_XML_ROOT = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s/>]")
_XML_PROLOG = re.compile(r"^(?:\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>))*\s*", re.S)


def sniff(data: str | bytes) -> Literal["text", "fhir", "hl7", "ccda"]:
    """Guess the format of an input.

    Parameters
    ----------
    data : str or bytes
        The raw input.

    Returns
    -------
    str
        ``hl7`` when it starts with an MSH (or FHS/BHS) segment, ``fhir`` for a JSON object,
        ``ccda`` for XML, else ``text``. The parser then decides whether the content is valid: a JSON
        object without ``resourceType`` or XML whose root is not ClinicalDocument is an IngestError,
        not a text note.
    """
    head = data[:65536]
    if isinstance(head, bytes | bytearray):
        head = bytes(head).decode("utf-8", errors="replace")
    head = head.removeprefix("\ufeff").lstrip("\x0b \t\r\n")
    if _HL7_START.match(head):
        return "hl7"
    if head.startswith("{"):
        return "fhir" if _is_json_object(data) else "text"
    if head.startswith("<"):
        return "ccda"
    return "text"


def _is_json_object(data: str | bytes) -> bool:
    try:
        return isinstance(json.loads(data), dict)
    except (ValueError, RecursionError):
        # A note that merely begins with "{" is text; JSON cut short is still meant as FHIR.
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes | bytearray) else data
        return '"resourceType"' in text[:4096]


def parse(data: str | bytes, fmt: Format = "auto", **defaults: Any) -> Encounter:
    """Parse any supported input into an Encounter.

    Parameters
    ----------
    data : str or bytes
        Plain text, FHIR R4 JSON (DocumentReference or Bundle), one HL7 v2 message, or a C-CDA document.
    fmt : {"auto", "text", "fhir", "hl7", "ccda"}
        ``auto`` sniffs the format (see ``sniff``).
    **defaults
        Keywords of the chosen parser: ``encounter_id``, ``date_of_service``, ``patient`` and any other
        Encounter field, used where the input does not state them; ``resolver`` for FHIR.

    Returns
    -------
    Encounter

    Raises
    ------
    IngestError
        Whenever the input cannot be turned into an Encounter; never an untyped exception for bad input.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if not isinstance(data, str | bytes | bytearray):
        raise IngestError(
            fmt if fmt != "auto" else "text",
            "(document)",
            f"expected str or bytes, got {type(data).__name__}",
        )
    if fmt == "auto":
        if not (data.strip() if isinstance(data, str) else bytes(data).strip()):
            raise IngestError("text", "text", "input is empty")
        fmt = sniff(data)
    if fmt == "fhir":
        return parse_fhir(data, **defaults)
    if fmt == "hl7":
        return parse_hl7(data, **defaults)
    if fmt == "ccda":
        return parse_ccda(data, **defaults)
    return parse_text(data, **defaults)
