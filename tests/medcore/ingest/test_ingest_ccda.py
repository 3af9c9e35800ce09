from __future__ import annotations

import base64
from datetime import date
from pathlib import Path

import pytest

from medcore.errors import IngestError
from medcore.ingest.ccda import parse_ccda, read_ccda
from medcore.model import Sex

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "samples" / "ccda"

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <id root="2.16.840.1.113883.19.5" extension="DOC-1"/>
  <title>Office Note</title>
  <effectiveTime value="20240305101500-0500"/>
  <recordTarget><patientRole><id extension="MRN-9" root="1.2.3"/>
    <patient><name><given>Ada</given><family>Secretname</family></name>
      <administrativeGenderCode code="F"/><birthTime value="19700306"/></patient>
  </patientRole></recordTarget>
  {extra}
  <component>{body}</component>
</ClinicalDocument>"""


def cda(body: str, extra: str = "") -> str:
    return HEADER.replace("{extra}", extra).replace("{body}", body)


STRUCTURED = """<structuredBody>
  <component><section><title>Assessment and Plan</title><text>
    <paragraph>Type 2 diabetes, <content styleCode="Bold">uncontrolled</content>.</paragraph>
    <list listType="ordered"><item>Start insulin</item><item>Recheck A1c</item></list>
  </text></section></component>
  <component><section><code code="8716-3" displayName="Vital Signs"/><text>
    <table><thead><tr><th>BP</th><th>HR</th></tr></thead>
    <tbody><tr><td>150/90</td><td>88</td></tr></tbody></table>BMI 31<br/>Obese
  </text></section></component>
  <component><section><title>Empty</title></section></component>
  <component><section><title>History</title>
    <component><section><title>Social History:</title><text>Never smoker.</text></section></component>
  </section></component>
</structuredBody>"""


def test_sections_become_titled_blocks_of_narrative() -> None:
    enc = parse_ccda(cda(STRUCTURED))
    assert enc.notes[0].text == (
        "ASSESSMENT AND PLAN:\nType 2 diabetes, uncontrolled.\n1. Start insulin\n2. Recheck A1c\n\n"
        "VITAL SIGNS:\nBP | HR\n150/90 | 88\nBMI 31\nObese\n\n"
        "HISTORY:\n\nSOCIAL HISTORY:\nNever smoker."
    )
    assert (enc.notes[0].note_id, enc.notes[0].title, enc.notes[0].source_format) == (
        "DOC-1",
        "Office Note",
        "ccda",
    )


def test_header_demographics_and_document_date() -> None:
    enc = parse_ccda(cda(STRUCTURED))
    assert enc.date_of_service == date(2024, 3, 5)
    assert enc.encounter_id == "DOC-1"
    assert enc.patient.sex is Sex.female
    assert enc.patient.birth_date == date(1970, 3, 6)
    assert enc.patient.age == 53  # the birthday is the day after the visit
    assert enc.patient.patient_id == "MRN-9"


def test_encompassing_encounter_then_service_event_give_the_date() -> None:
    service = '<documentationOf><serviceEvent><effectiveTime><low value="20240201"/></effectiveTime></serviceEvent></documentationOf>'
    encounter = (
        '<componentOf><encompassingEncounter><id extension="ENC-5"/>'
        '<effectiveTime><low value="202402151030-0500"/></effectiveTime></encompassingEncounter></componentOf>'
    )
    assert parse_ccda(cda(STRUCTURED, service)).date_of_service == date(2024, 2, 1)
    enc = parse_ccda(cda(STRUCTURED, service + encounter))
    assert (enc.date_of_service, enc.encounter_id) == (date(2024, 2, 15), "ENC-5")


def test_progress_note_sample_has_section_headers() -> None:
    enc = parse_ccda((SAMPLES / "Progress_Note.ccda").read_bytes())
    text = enc.notes[0].text
    assert "ASSESSMENT:\n1. Recurrent GI bleed of unknown etiology" in text
    assert "CHIEF COMPLAINT:\nDark stools." in text
    assert enc.date_of_service == date(2005, 3, 29)
    assert enc.patient.sex is Sex.male and enc.patient.birth_date == date(1954, 11, 25)
    assert enc.patient.age == 50


def test_unstructured_plain_text_base64_and_inline() -> None:
    note = "Discharge diagnosis: community-acquired pneumonia.\nFollow up in 1 week."
    b64 = base64.b64encode(note.encode()).decode()
    body = f'<nonXMLBody><text mediaType="text/plain" representation="B64">{b64}</text></nonXMLBody>'
    assert parse_ccda(cda(body)).notes[0].text == note
    inline = f"<nonXMLBody><text>{note}</text></nonXMLBody>"
    assert parse_ccda(cda(inline)).notes[0].text == note


@pytest.mark.parametrize(
    ("body", "field", "phrase"),
    [
        ('<nonXMLBody><text mediaType="application/pdf" representation="B64">JVBERi0xLjQ=</text></nonXMLBody>',
         "component/nonXMLBody/text", "application/pdf"),
        ('<nonXMLBody><text><reference value="note.pdf"/></text></nonXMLBody>',
         "component/nonXMLBody/text/reference", "external file"),
        ('<nonXMLBody><text mediaType="text/plain" representation="B64">@@@</text></nonXMLBody>',
         "component/nonXMLBody/text", "base64"),
        ("", "component", "neither"),
    ],
)  # fmt: skip
def test_unusable_bodies_are_typed_errors(body: str, field: str, phrase: str) -> None:
    with pytest.raises(IngestError) as err:
        parse_ccda(cda(body))
    assert err.value.field == field and phrase in err.value.reason


def test_header_only_document_has_no_notes() -> None:
    enc = parse_ccda(cda("<structuredBody><component/></structuredBody>"))
    assert enc.notes == []


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        ("", "empty"),
        (b"\x00\x01garbage", "not well-formed"),
        (cda(STRUCTURED)[:400], "not well-formed"),
        ("<Bundle xmlns='http://hl7.org/fhir'/>", "not ClinicalDocument"),
        ("<ClinicalDocument/>", "not ClinicalDocument"),  # no HL7 v3 namespace
    ],
)
def test_malformed_xml_is_a_typed_error(data: str | bytes, phrase: str) -> None:
    with pytest.raises(IngestError) as err:
        parse_ccda(data)
    assert err.value.field == "ClinicalDocument" and phrase in err.value.reason


def test_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
        + cda(
            "<structuredBody><component><section><title>A</title><text>&x;</text></section></component></structuredBody>"
        ).split("?>", 1)[1]
    )
    with pytest.raises(IngestError) as err:
        read_ccda(xxe)
    assert "TOP-SECRET" not in str(err.value)
    assert "unsafe" in err.value.reason


def test_invalid_birth_time_names_the_field() -> None:
    with pytest.raises(IngestError) as err:
        parse_ccda(cda(STRUCTURED).replace("19700306", "1970-03-06"))
    assert err.value.field == "recordTarget/patientRole/patient/birthTime"
    assert "1970" not in str(err.value)


def test_missing_record_target_is_refused() -> None:
    doc = cda(STRUCTURED)
    start, end = doc.index("<recordTarget>"), doc.index("</recordTarget>") + len("</recordTarget>")
    with pytest.raises(IngestError) as err:
        parse_ccda(doc[:start] + doc[end:])
    assert err.value.field == "recordTarget/patientRole"
