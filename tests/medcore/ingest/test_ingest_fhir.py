from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from medcore.errors import IngestError
from medcore.ingest.ccda import read_ccda
from medcore.ingest.fhir import parse_fhir
from medcore.model import Setting, Sex

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "fhir"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def test_document_reference_with_base64_plain_text() -> None:
    raw = load("docref_plain.json")
    enc = parse_fhir((FIXTURES / "docref_plain.json").read_bytes())
    expected = base64.b64decode(raw["content"][0]["attachment"]["data"]).decode()
    assert enc.notes[0].text == expected  # stored exactly as sent
    assert (enc.notes[0].note_id, enc.notes[0].title, enc.notes[0].source_format) == (
        "note-plain-1",
        "Progress note",
        "fhir",
    )
    assert enc.encounter_id == "enc-100"  # from context.encounter, though not in a Bundle
    assert enc.date_of_service == date(2024, 3, 4)  # context.period.start before DocumentReference.date


def test_bundle_attachment_url_resolves_to_binary_and_prefers_text_over_pdf() -> None:
    enc = parse_fhir(load("bundle_binary_url.json"))
    assert enc.notes[0].text.startswith("HISTORY OF PRESENT ILLNESS:\nPatient reports low back pain")
    assert enc.encounter_id == "enc-200"
    assert enc.date_of_service == date(2024, 2, 10)  # Encounter.period.start
    assert enc.patient.sex is Sex.female
    assert enc.patient.birth_date == date(1960, 7, 15) and enc.patient.age == 63
    assert enc.patient.patient_id == "pat-2"
    assert enc.setting is Setting.office  # AMB leaves the caller's default


def test_bundle_html_is_stripped_to_lines() -> None:
    enc = parse_fhir(json.dumps(load("bundle_html.json")))
    assert enc.notes[0].text == (
        "Chief Complaint\nChest pain & shortness of breath.\nAssessment\n"
        "- Community-acquired pneumonia, right lower lobe\n- No evidence of pulmonary embolism\n"
        "Vitals:\nT 38.4 C\nHR 104"
    )
    assert (enc.setting, enc.place_of_service) == (Setting.ed, "23")
    assert enc.date_of_service == date(2023, 12, 24)  # local day of the period start
    assert enc.patient.age == 75


def test_rtf_attachment_and_superseded_status() -> None:
    enc = parse_fhir(load("docref_rtf.json"))
    assert enc.notes[0].text == (
        "ASSESSMENT:\nGout flare of the right great toe \u2013 no fever.\nCaf\u00e9-au-lait macule noted \u2014 benign."
    )
    assert enc.date_of_service == date(2024, 1, 20)


@pytest.mark.parametrize(
    ("name", "field", "phrase"),
    [
        ("malformed_truncated.json", "(document)", "not valid JSON"),
        ("malformed_wrong_resource_type.json", "resourceType", "Observation is not supported"),
        ("malformed_bad_base64.json", "DocumentReference.content[0].attachment.data", "base64"),
        ("malformed_entered_in_error.json", "DocumentReference.status", "entered in error"),
        ("malformed_bogus_status.json", "DocumentReference.status", "must be current"),
        ("malformed_unresolved_url.json", "DocumentReference.content[0].attachment.url", "no resolver"),
    ],
)
def test_malformed_fixtures_raise_typed_errors(name: str, field: str, phrase: str) -> None:
    with pytest.raises(IngestError) as err:
        parse_fhir((FIXTURES / name).read_bytes())
    assert (err.value.source_format, err.value.field) == ("fhir", field)
    assert phrase in err.value.reason


def test_resolver_supplies_external_urls() -> None:
    seen: list[str] = []

    def resolver(url: str) -> bytes:
        seen.append(url)
        return b"Resolved note: otitis media."

    enc = parse_fhir(load("malformed_unresolved_url.json"), resolver=resolver)
    assert seen == ["https://ehr.example.org/fhir/Binary/abc"]
    assert enc.notes[0].text == "Resolved note: otitis media."

    def broken(url: str) -> bytes:
        raise ConnectionError("down")

    with pytest.raises(IngestError) as err:
        parse_fhir(load("malformed_unresolved_url.json"), resolver=broken)
    assert err.value.field.endswith("attachment.url") and "ConnectionError" in err.value.reason


def docref(**over: Any) -> dict[str, Any]:
    doc = {
        "resourceType": "DocumentReference",
        "id": "d1",
        "status": "current",
        "date": "2024-05-01T10:00:00Z",
        "content": [{"attachment": {"contentType": "text/plain", "data": b64("Knee pain.")}}],
    }
    doc.update(over)
    return doc


def bundle(*resources: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def test_entered_in_error_documents_in_a_bundle_are_skipped() -> None:
    bad = docref(id="d0", status="entered-in-error",
                 content=[{"attachment": {"contentType": "text/plain", "data": b64("Wrong patient note.")}}])  # fmt: skip
    enc = parse_fhir(bundle(bad, docref()))
    assert [n.text for n in enc.notes] == ["Knee pain."]


def test_each_document_reference_in_a_bundle_is_one_note() -> None:
    second = docref(
        id="d2", content=[{"attachment": {"contentType": "text/plain", "data": b64("Hip pain.")}}]
    )
    enc = parse_fhir(bundle(docref(), second, kind="transaction"))
    assert [(n.note_id, n.text) for n in enc.notes] == [("d1", "Knee pain."), ("d2", "Hip pain.")]


def test_cda_attachment_is_delegated_to_the_ccda_parser() -> None:
    xml = (REPO / "samples" / "ccda" / "Progress_Note.ccda").read_bytes()
    doc = docref(
        date=None, content=[{"attachment": {"contentType": "application/hl7-v3+xml", "data": b64(xml)}}]
    )
    enc = parse_fhir(doc)
    assert enc.notes[0].text == read_ccda(xml).text
    # No FHIR date and no Patient: the CDA header fills them.
    assert enc.date_of_service == date(2005, 3, 29)
    assert enc.patient.sex is Sex.male


def test_contained_binary_is_resolved() -> None:
    doc = docref(
        contained=[{"resourceType": "Binary", "id": "b1", "contentType": "text/plain", "data": b64("Gout.")}],
        content=[{"attachment": {"contentType": "text/plain", "url": "#b1"}}],
    )
    assert parse_fhir(doc).notes[0].text == "Gout."


def test_missing_date_needs_a_default() -> None:
    with pytest.raises(IngestError) as err:
        parse_fhir(docref(date=None))
    assert err.value.field == "DocumentReference.date"
    assert parse_fhir(docref(date=None), date_of_service=date(2024, 1, 2)).date_of_service == date(2024, 1, 2)


@pytest.mark.parametrize(
    ("data", "field", "phrase"),
    [
        ("", "(document)", "empty"),
        (b"\xff\xfe\x00garbage", "(document)", "UTF-8"),
        ("[1, 2]", "(document)", "not an object"),
        ('{"id": "x"}', "resourceType", "missing"),
        (json.dumps(bundle(docref(), kind="batch-response")), "Bundle.type", "must be"),
        (json.dumps(bundle({"resourceType": "Patient", "id": "p"})), "Bundle.entry", "no DocumentReference"),
        (json.dumps(bundle({"resourceType": "NotAType"}, docref())), "Bundle", "unknown resource type"),
        (json.dumps(docref(content=[{"attachment": {"contentType": "application/pdf", "data": b64("%PDF")}}])),
         "DocumentReference.content", "application/pdf"),
        (json.dumps(docref(content=[{"attachment": {"contentType": "text/plain"}}])),
         "DocumentReference.content[0].attachment", "neither data nor url"),
        (json.dumps(docref(content=[{"attachment": {"contentType": "text/plain", "data": b64("   ")}}])),
         "DocumentReference.content[0].attachment", "empty"),
        (json.dumps(docref(content=[{"attachment": {"contentType": "text/rtf", "data": b64("{\\rtf1 x")}}])),
         "DocumentReference.content[0].attachment", "RTF"),
        (json.dumps(docref(content=[{"attachment": {"contentType": "text/xml", "data": b64("<x/>")}}])),
         "DocumentReference.content[0].attachment (CDA ClinicalDocument)", "not ClinicalDocument"),
        (json.dumps(docref(status=None)), "DocumentReference.status", "missing"),
        (json.dumps(bundle(docref(), {"resourceType": "Patient", "gender": "bogus"})), "Patient.gender", "must be"),
        (json.dumps(bundle(docref(), {"resourceType": "Patient", "id": "a"}, {"resourceType": "Patient", "id": "b"})),
         "Bundle.entry", "2 Patient"),
    ],
)  # fmt: skip
def test_malformed_input_raises_typed_errors(data: str | bytes, field: str, phrase: str) -> None:
    with pytest.raises(IngestError) as err:
        parse_fhir(data)
    assert err.value.field == field
    assert phrase in err.value.reason


def test_bad_base64_in_a_bundled_binary_names_the_entry() -> None:
    doc = docref(content=[{"attachment": {"contentType": "text/plain", "url": "Binary/b9"}}])
    binary = {"resourceType": "Binary", "id": "b9", "contentType": "text/plain", "data": "not*base64"}
    with pytest.raises(IngestError) as err:
        parse_fhir(bundle(doc, binary))
    assert err.value.field == "Bundle.entry[1].resource.data"


def test_errors_do_not_quote_phi() -> None:
    doc = docref(content=[{"attachment": {"contentType": "text/plain", "data": "U2VjcmV0*bad"}}])
    pat = {
        "resourceType": "Patient",
        "birthDate": "1950-01-01",
        "name": [{"family": "Secretname"}],
        "gender": "x",
    }
    for data in (doc, bundle(docref(), pat)):
        with pytest.raises(IngestError) as err:
            parse_fhir(data)
        for phi in ("U2VjcmV0", "Secretname", "1950"):
            assert phi not in str(err.value)
