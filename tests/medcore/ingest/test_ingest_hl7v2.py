from __future__ import annotations

import base64
from datetime import date
from pathlib import Path

import hl7
import pytest

from medcore.errors import IngestError
from medcore.ingest.hl7v2 import Delimiters, ack, normalise, parse_hl7, unescape
from medcore.model import Setting, Sex

REPO = Path(__file__).resolve().parents[3]


def msg(*segments: str, sep: str = "\r") -> str:
    return sep.join(segments)


def seg(sid: str, **fields: str) -> str:
    """A segment with the given fields set by number, e.g. ``seg("PV1", f2="O", f44="20240614")``."""
    values = {int(k[1:]): v for k, v in fields.items()}
    return "|".join([sid] + [values.get(i, "") for i in range(1, max(values) + 1)])


MSH_MDM = r"MSH|^~\&|EHR|FAC|CODER|FAC|20240301120000||MDM^T02^MDM_T02|CTRL-42|P|2.5"
PID = "PID|1||MRN123^^^HOSP^MR||Secretname^Pat^Q||19800615|F"
PV1 = seg("PV1", f1="1", f2="O", f3="CLINIC", f19="VISIT-9", f44="20240614083000")
TXA = "TXA|1|PN^Progress note|TX|20240610||||||||DOC-77||||||AU"
MDM = msg(
    MSH_MDM,
    "EVN|T02|20240301120000",
    PID,
    PV1,
    TXA,
    r"OBX|1|TX|NOTE||ASSESSMENT:\.br\Type 2 diabetes \T\ CKD stage 3a||||||F",
    r"OBX|2|FT|NOTE||BP 150/90 \F\ HR 88~Plan: recheck in 3 months||||||F",
    "OBX|3|NM|8867-4^Heart rate^LN||88|/min|||||F",
    "OBX|4|ST|NOTE||Corrected line||||||W",
    seg("DG1", f1="1", f2="I10", f3="E11.22^Type 2 diabetes with CKD^I10", f6="F", f15="2"),
    seg("DG1", f1="2", f3="N1831^CKD stage 3a^ICD-10-CM", f6="F", f15="1"),
    "DG1|3|I9|250.00^Diabetes^I9||20240614|F",
    "DG1|4||44054006^Diabetes type 2^SCT||20240614|F",
    "DG1|5||e11.22^Duplicate^ICD10||20240614|F",
)


def test_mdm_note_text_is_obx_text_in_order_unescaped() -> None:
    enc = parse_hl7(MDM)
    assert len(enc.notes) == 1
    note = enc.notes[0]
    assert note.text == (
        "ASSESSMENT:\nType 2 diabetes & CKD stage 3a\nBP 150/90 | HR 88\nPlan: recheck in 3 months"
    )
    assert (note.note_id, note.title, note.source_format) == ("DOC-77", "Progress note", "hl7")


def test_mdm_header_fields() -> None:
    enc = parse_hl7(MDM)
    assert enc.encounter_id == "VISIT-9"
    assert enc.date_of_service == date(2024, 6, 14)  # PV1-44 wins over TXA-4 and MSH-7
    assert enc.patient.patient_id == "MRN123"
    assert enc.patient.sex is Sex.female
    assert enc.patient.birth_date == date(1980, 6, 15)
    assert enc.patient.name == "Pat Q Secretname"
    assert (enc.setting, enc.place_of_service) == (Setting.outpatient, "22")


def test_dg1_icd10cm_codes_are_extracted_principal_first_and_deduplicated() -> None:
    # DG1-15 priority 1 (N18.31) first; I9 and SNOMED codes are ignored; e11.22 repeats E11.22.
    assert parse_hl7(MDM).source_diagnoses == ["N18.31", "E11.22"]


def test_dg1_with_icd10_system_but_bad_code_is_refused() -> None:
    bad = MDM + "\rDG1|6||NOT-A-CODE^x^I10"
    with pytest.raises(IngestError) as err:
        parse_hl7(bad)
    assert err.value.field == "DG1-3"


@pytest.mark.parametrize(
    ("admit", "age"),
    [("20240614", 43), ("20240615", 44), ("20240616", 44)],
)
def test_age_is_from_pid7_relative_to_the_date_of_service(admit: str, age: int) -> None:
    pv1 = seg("PV1", f1="1", f2="O", f19="VISIT-9", f44=admit)
    enc = parse_hl7(msg(MSH_MDM, PID, pv1, TXA, "OBX|1|TX|N||text||||||F"))
    assert enc.date_of_service == date.fromisoformat(f"{admit[:4]}-{admit[4:6]}-{admit[6:]}")
    assert enc.patient.age == age


def test_date_of_service_falls_back_txa4_then_obr7_then_msh7() -> None:
    pv1_no_admit = "PV1|1|I|WARD"
    assert parse_hl7(msg(MSH_MDM, PID, pv1_no_admit, TXA)).date_of_service == date(2024, 6, 10)
    oru_head = r"MSH|^~\&|LAB|FAC|EHR|FAC|20240301||ORU^R01|C1|P|2.5"
    obr = "OBR|1|P1|F1|24317-0^CBC^LN|||20240220101500-0500"
    assert parse_hl7(msg(oru_head, PID, obr)).date_of_service == date(2024, 2, 20)
    assert parse_hl7(msg(oru_head, PID)).date_of_service == date(2024, 3, 1)


def test_encounter_id_falls_back_txa12_then_msh10() -> None:
    assert parse_hl7(msg(MSH_MDM, PID, TXA)).encounter_id == "DOC-77"
    assert parse_hl7(msg(MSH_MDM, PID)).encounter_id == "CTRL-42"


def test_inpatient_class_sets_setting() -> None:
    enc = parse_hl7(msg(MSH_MDM, PID, "PV1|1|I|WARD||||||||||||||||V1"))
    assert (enc.setting, enc.place_of_service) == (Setting.inpatient, "21")


def test_oru_text_results_joined_in_order_per_obr() -> None:
    oru = msg(
        r"MSH|^~\&|RIS|FAC|EHR|FAC|20240301||ORU^R01|C2|P|2.5",
        PID,
        "OBR|1|P1|ACC-1|71046^Chest X-ray 2 views^CPT|||20240229",
        "OBX|1|TX|IMP||Impression:||||||F",
        "OBX|2|TX|IMP||No acute cardiopulmonary process.||||||F",
        "OBX|3|NM|X||5|mm|||||F",
        "OBR|2|P2|ACC-2|93000^ECG^CPT|||20240229",
        r"OBX|1|ST|ECG||Sinus rhythm\E\normal axis||||||F",
    )
    enc = parse_hl7(oru)
    assert [(n.note_id, n.title, n.text) for n in enc.notes] == [
        ("ACC-1", "Chest X-ray 2 views", "Impression:\nNo acute cardiopulmonary process."),
        ("ACC-2", "ECG", "Sinus rhythm\\normal axis"),
    ]


def test_adt_has_no_notes_but_is_a_valid_encounter() -> None:
    adt = msg(r"MSH|^~\&|A|B|C|D|20240101||ADT^A01|9|P|2.5", PID, "PV1|1|E|ED||||||||||||||||V7")
    enc = parse_hl7(adt)
    assert enc.notes == [] and enc.encounter_id == "V7" and enc.setting is Setting.ed


def test_encapsulated_text_is_read_and_pdf_only_is_refused() -> None:
    data = base64.b64encode(b"Discharge diagnosis: sepsis.").decode()
    enc = parse_hl7(msg(MSH_MDM, PID, TXA, f"OBX|1|ED|DOC||^TEXT^PLAIN^Base64^{data}||||||F"))
    assert enc.notes[0].text == "Discharge diagnosis: sepsis."
    with pytest.raises(IngestError) as err:
        parse_hl7(msg(MSH_MDM, PID, TXA, "OBX|1|ED|DOC||^application^pdf^Base64^JVBERi0=||||||F"))
    assert err.value.field == "OBX-5" and "application/pdf" in err.value.reason
    with pytest.raises(IngestError) as err:
        parse_hl7(msg(MSH_MDM, PID, TXA, "OBX|1|ED|DOC||^TEXT^PLAIN^Base64^@@not-base64@@||||||F"))
    assert err.value.field == "OBX-5"


@pytest.mark.parametrize("sep", ["\r", "\n", "\r\n"])
def test_segment_separators_are_normalised(sep: str) -> None:
    enc = parse_hl7(MDM.replace("\r", sep).encode())
    assert enc.notes[0].text.startswith("ASSESSMENT:\nType 2 diabetes")
    assert normalise(MDM.replace("\r", sep) + sep + sep) == MDM


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"a\F\b\S\c\T\d\R\e\E\f", "a|b^c&d~e\\f"),
        (r"line1\.br\line2", "line1\nline2"),
        (r"a\.sp2\b", "a\n\nb"),
        (r"x\.sk3\y", "x   y"),
        (r"\H\bold\N\ text", "bold text"),
        (r"\X48656C6C6F\ world", "Hello world"),
        ("caf\\XC3A9\\", "caf\u00e9"),
        ("\\.in+4\\indented\\.fi\\", "indented"),
        (r"\Zlocal\kept", "kept"),
        (r"unterminated \F", "unterminated \\F"),
        (r"unknown \Q\ seq", "unknown \\Q\\ seq"),
        ("no escapes", "no escapes"),
    ],
)
def test_unescape(raw: str, expected: str) -> None:
    assert unescape(raw) == expected


def test_unescape_honours_the_message_delimiters() -> None:
    d = Delimiters(field="#", component="!", repetition="*", escape="$", subcomponent="%")
    assert unescape("a$F$b$S$c$E$", d) == "a#b!c$"


def test_custom_delimiters_in_msh_are_used() -> None:
    m = msg(
        "MSH#!*$%#EHR#F#C#F#20240301##MDM!T02#C9#P#2.5",
        "PID#1##M1##Doe!Jo##19700101#M",
        "TXA#1#PN#TX#20240302########D1",
        "OBX#1#TX#N##Pain$F$swelling$.br$knee#####F",
    )
    enc = parse_hl7(m)
    assert enc.notes[0].text == "Pain#swelling\nknee"
    assert enc.date_of_service == date(2024, 3, 2)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ("", "MSH"),
        (b"", "MSH"),
        (b"\x00\xff\xfe\x81garbage\x92", "MSH"),
        ("Patient seen today for knee pain.", "MSH"),
        (msg(MSH_MDM, TXA, "OBX|1|TX|N||x||||||F"), "PID"),
        (msg(MSH_MDM.replace("MDM^T02^MDM_T02", "SIU^S12"), PID), "MSH-9"),
        (msg(MSH_MDM.replace("MDM^T02^MDM_T02", ""), PID), "MSH-9"),
        (msg(MSH_MDM, PID.replace("|F", "|Z")), "PID-8"),
        (msg(MSH_MDM, PID.replace("19800615", "19801340")), "PID-7"),
        (msg(MSH_MDM, PID.replace("19800615", "20990101")), "PID-7"),
        (msg(MSH_MDM, PID, seg("PV1", f1="1", f19="V", f44="notadate")), "PV1-44"),
        (msg(MSH_MDM, PID) + "\r" + msg(MSH_MDM, PID), "MSH"),
        ("FHS|^~\\&|A\rBHS|^~\\&\r" + msg(MSH_MDM, PID), "FHS"),
    ],
)
def test_malformed_messages_raise_ingest_error(data: str | bytes, field: str) -> None:
    with pytest.raises(IngestError) as err:
        parse_hl7(data)
    assert err.value.source_format == "hl7"
    assert err.value.field == field


def test_errors_do_not_quote_phi() -> None:
    with pytest.raises(IngestError) as err:
        parse_hl7(msg(MSH_MDM, PID.replace("|F", "|Z"), TXA, "OBX|1|TX|N||Secret diagnosis text||||||F"))
    text = str(err.value)
    for phi in ("Secretname", "MRN123", "19800615", "Secret diagnosis"):
        assert phi not in text


def test_ack_accept_and_error_with_escaped_text() -> None:
    reply = ack(MDM)
    parsed = hl7.parse(reply)
    assert str(parsed.segment("MSA")(1)) == "AA"
    assert str(parsed.segment("MSA")(2)) == "CTRL-42"
    assert str(parsed.segment("MSH")(9)) == "ACK^T02^ACK"
    assert str(parsed.segment("MSH")(5)) == "EHR"  # back to the sender
    reply = ack(MDM.encode(), code="AE", text="PID-8: bad sex | see spec", message_id="ACK-1")
    parsed = hl7.parse(reply)
    assert str(parsed.segment("MSA")(1)) == "AE"
    assert str(parsed.segment("MSA")(3)) == r"PID-8: bad sex \F\ see spec"
    assert str(parsed.segment("MSH")(10)) == "ACK-1"
    assert "\n" not in reply


def test_ack_of_unparseable_input_is_ingest_error() -> None:
    with pytest.raises(IngestError):
        ack("not hl7 at all")
    with pytest.raises(ValueError):
        ack(MDM, code="XX")  # type: ignore[arg-type]


def test_demo_sample_mdm_has_note_text() -> None:
    enc = parse_hl7((REPO / "samples" / "hl7" / "MDM-T02-03.hl7").read_bytes())
    assert (
        enc.notes[0].text.splitlines()[0]
        == "Toilet cylinder crackers model step-mother visor opening communication"
    )
    assert enc.encounter_id == "2RWRVAJ627408"  # TXA-12: PV1-19 is empty
    assert enc.date_of_service == date(2021, 8, 1)
    assert enc.patient.sex is Sex.male and enc.patient.age == 91
