"""Ingestion: plain text, FHIR R4, HL7 v2 and C-CDA into ``medcore.model.Encounter``.

Every parser raises ``medcore.errors.IngestError`` (naming the field at fault, never quoting PHI) for
input it cannot use, and stores note text exactly as extracted, since evidence offsets index into it.
"""

from medcore.ingest.ccda import parse_ccda, read_ccda
from medcore.ingest.detect import parse, sniff
from medcore.ingest.fhir import parse_fhir
from medcore.ingest.hl7v2 import ack, parse_hl7, unescape
from medcore.ingest.text import parse_text

__all__ = [
    "ack",
    "parse",
    "parse_ccda",
    "parse_fhir",
    "parse_hl7",
    "parse_text",
    "read_ccda",
    "sniff",
    "unescape",
]
