from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

import pytest

from medcore.errors import IngestError
from medcore.ingest import parse, sniff
from medcore.model import Patient, Sex

REPO = Path(__file__).resolve().parents[3]
HL7 = "MSH|^~\\&|A|B|C|D|20240301||MDM^T02|C1|P|2.5\rPID|1||M1||Doe^Jo||19700101|M\rOBX|1|TX|N||Knee pain.||||||F"
FHIR = json.dumps(
    {
        "resourceType": "DocumentReference",
        "status": "current",
        "date": "2024-05-01T09:00:00Z",
        "content": [
            {"attachment": {"contentType": "text/plain", "data": base64.b64encode(b"Cough.").decode()}}
        ],
    }
)
CCDA = (REPO / "samples" / "ccda" / "Consultation_Note.ccda").read_bytes()


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (HL7, "hl7"),
        ("\ufeff\n" + HL7, "hl7"),
        (HL7.replace("\r", "\n").encode(), "hl7"),
        (FHIR, "fhir"),
        (FHIR.encode("utf-8-sig"), "fhir"),
        (FHIR[:40], "fhir"),  # truncated JSON is still meant as FHIR, so its parser reports it
        (CCDA, "ccda"),
        ("<?xml version='1.0'?><anything/>", "ccda"),
        ("Patient seen for cough.", "text"),
        ("{Patient} seen for cough.", "text"),
        ("MSHA is not a segment", "text"),
    ],
)
def test_sniff(data: str | bytes, fmt: str) -> None:
    assert sniff(data) == fmt


def test_parse_dispatches_each_format() -> None:
    assert parse(HL7).notes[0].source_format == "hl7"
    assert parse(FHIR).notes[0].source_format == "fhir"
    assert parse(CCDA).notes[0].source_format == "ccda"
    enc = parse("Cough for 3 days.", encounter_id="E1", date_of_service=date(2024, 2, 2))
    assert (enc.notes[0].source_format, enc.encounter_id, enc.date_of_service) == (
        "text",
        "E1",
        date(2024, 2, 2),
    )


def test_forced_format_is_not_sniffed() -> None:
    enc = parse(HL7, fmt="text", date_of_service=date(2024, 1, 1))
    assert enc.notes[0].text == HL7
    with pytest.raises(IngestError) as err:
        parse("Cough.", fmt="hl7")
    assert err.value.source_format == "hl7"


def test_defaults_fill_gaps_but_source_wins() -> None:
    enc = parse(HL7, patient=Patient(sex=Sex.female, member_id="MEM-1"), encounter_id="ignored")
    assert enc.patient.sex is Sex.male  # PID-8 wins
    assert enc.patient.member_id == "MEM-1"  # the source has none
    assert enc.encounter_id == "C1"  # MSH-10


@pytest.mark.parametrize(
    ("data", "source_format", "field"),
    [
        ("", "text", "text"),
        (b"   ", "text", "text"),
        (b"\x00\x9f\x92\xff garbage", "text", "text"),
        ('{"Gender": "M", "DOB": "20010110"}', "fhir", "resourceType"),
        ('{"resourceType": "DocumentReference", "status": "cur', "fhir", "(document)"),
        ("<html><body>note</body></html>", "ccda", "ClinicalDocument"),
        ("<ClinicalDocument xmlns='urn:hl7-org:v3'><unclosed>", "ccda", "ClinicalDocument"),
        ("MSH|^~\\&|A|B|C|D|20240301||SIU^S12|C1|P|2.5\rPID|1||M1", "hl7", "MSH-9"),
    ],
)
def test_bad_input_is_always_ingest_error(data: str | bytes, source_format: str, field: str) -> None:
    with pytest.raises(IngestError) as err:
        parse(data)
    assert (err.value.source_format, err.value.field) == (source_format, field)


def test_unknown_format_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse("x", fmt="pdf")  # type: ignore[arg-type]


def test_repo_demo_samples_all_parse_with_notes() -> None:
    # samples/ ships with the product (../shared does not), so these must always yield note text.
    demo = sorted((REPO / "samples" / "hl7").glob("*.hl7")) + sorted(
        (REPO / "samples" / "ccda").glob("*.ccda")
    )
    assert len(demo) >= 9
    for path in demo:
        enc = parse(path.read_bytes())
        assert enc.notes and enc.notes[0].text.strip(), path.name
    assert (REPO / "samples" / "hl7" / "LICENSE").is_file() and (
        REPO / "samples" / "ccda" / "LICENSE"
    ).is_file()
