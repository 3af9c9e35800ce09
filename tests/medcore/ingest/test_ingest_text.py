from __future__ import annotations

from datetime import date

import pytest

from medcore.errors import IngestError
from medcore.ingest.text import parse_text
from medcore.model import Patient, Setting, Sex

NOTE = "ASSESSMENT AND PLAN:\r\n1. Type 2 diabetes mellitus.  Continue metformin.\n"


def test_text_is_stored_exactly_and_defaults_fill_the_encounter() -> None:
    enc = parse_text(NOTE)
    assert enc.notes[0].text == NOTE
    assert enc.notes[0].source_format == "text"
    assert enc.date_of_service == date.today()
    assert enc.encounter_id.startswith("txt-") and len(enc.encounter_id) <= 38


def test_encounter_id_is_a_stable_hash_of_the_text() -> None:
    assert parse_text(NOTE).encounter_id == parse_text(NOTE).encounter_id
    assert parse_text(NOTE).encounter_id != parse_text(NOTE + "2. Hypertension.").encounter_id


def test_caller_values_are_used() -> None:
    enc = parse_text(
        NOTE,
        encounter_id="E-1",
        date_of_service=date(2024, 6, 15),
        patient=Patient(birth_date=date(1980, 6, 16), sex=Sex.female),
        setting=Setting.telehealth,
        place_of_service="10",
        title="Telehealth note",
    )
    assert (enc.encounter_id, enc.date_of_service, enc.setting, enc.place_of_service) == (
        "E-1",
        date(2024, 6, 15),
        Setting.telehealth,
        "10",
    )
    assert enc.patient.age == 43  # one day short of the 44th birthday
    assert enc.notes[0].title == "Telehealth note"


def test_long_encounter_id_is_fitted_stably() -> None:
    long_id = "x" * 60
    a = parse_text(NOTE, encounter_id=long_id).encounter_id
    assert len(a) <= 38 and a == parse_text("other", encounter_id=long_id).encounter_id


def test_bytes_with_bom_are_decoded() -> None:
    assert parse_text(b"\xef\xbb\xbfPain in knee.").notes[0].text == "Pain in knee."


@pytest.mark.parametrize(
    "bad", ["", "   \n\t ", b"", b"\xff\xfe\x00\x81\x92garbage", "abc\x00def", b"\x89PNG\r\n\x1a\n\x00\x00"]
)
def test_empty_binary_or_undecodable_input_is_refused(bad: str | bytes) -> None:
    with pytest.raises(IngestError) as err:
        parse_text(bad)
    assert err.value.source_format == "text"
    assert err.value.field == "text"


def test_unknown_encounter_field_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse_text(NOTE, colour="blue")
