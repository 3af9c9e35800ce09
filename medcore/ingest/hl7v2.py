"""HL7 v2 messages (ADT, ORU, MDM) into an Encounter, and ACKs back.

Fields are named the way the HL7 standard names them (``PID-8``), both in the code and in every
``IngestError``, so a reader holding the chapter finds each one. Note text comes from OBX-5 values of
text types (TX, FT, ST) and from text-typed encapsulated data (ED); ADT messages carry no note text and
yield an Encounter without notes.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import hl7

from medcore.errors import IngestError
from medcore.ingest.assemble import build_encounter, fit_id
from medcore.ingest.markup import html_to_text, rtf_to_text
from medcore.ingest.timestamps import hl7_date
from medcore.model import Encounter, Note, Patient, Setting
from medcore.refdata.icd10cm import dotted

SUPPORTED_TYPES = frozenset({"ADT", "ORU", "MDM"})
TEXT_VALUE_TYPES = frozenset({"TX", "FT", "ST"})
ICD10CM_SYSTEMS = frozenset({"I10", "I10C", "ICD10", "ICD-10", "ICD10CM", "ICD-10-CM"})
# OBX-11 W (wrong, replaced) and D (deleted) results are not part of the document.
_WITHDRAWN = frozenset({"W", "D"})
_ICD10CM_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:[0-9A-Z]{1,4})?$")
_SEX = {"M": "M", "F": "F"}
_UNKNOWN_SEX = frozenset({"", "U", "O", "A", "N", "X"})  # HL7 table 0001 values that are not M or F
# PV1-2 patient class → setting and the matching CMS place of service.
_PATIENT_CLASS = {
    "I": (Setting.inpatient, "21"),
    "E": (Setting.ed, "23"),
    "O": (Setting.outpatient, "22"),
}
_TEXT_MEDIA = {"plain": "text/plain", "text/plain": "text/plain", "html": "text/html", "text/html": "text/html",
               "rtf": "text/rtf", "text/rtf": "text/rtf", "application/rtf": "text/rtf"}  # fmt: skip

AckCode = Literal["AA", "AE", "AR", "CA", "CE", "CR"]


@dataclass(frozen=True)
class Delimiters:
    """The encoding characters declared in MSH-1 and MSH-2."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"
    truncation: str = "#"


def unescape(value: str, delimiters: Delimiters | None = None) -> str:
    """Resolve HL7 v2 escape sequences in a field value.

    Parameters
    ----------
    value : str
        A raw field, component or repetition value.
    delimiters : Delimiters, optional
        The message's encoding characters (the defaults ``|^~\\&``).

    Returns
    -------
    str
        ``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\P\\`` become the delimiter characters, ``\\.br\\``,
        ``\\.sp\\`` and ``\\.ce\\`` line breaks, ``\\.skN\\`` N spaces, ``\\Xhh..\\`` the decoded
        bytes (UTF-8, else Latin-1); highlighting (``\\H\\ \\N\\``), indentation, fill mode and
        character-set switches are dropped. An unknown or unterminated sequence is kept as written.
    """
    d = delimiters or Delimiters()
    esc = d.escape
    if not esc or esc not in value:
        return value
    singles = {"F": d.field, "S": d.component, "T": d.subcomponent, "R": d.repetition, "E": esc,
               "P": d.truncation, "H": "", "N": ""}  # fmt: skip
    out: list[str] = []
    i = 0
    while i < len(value):
        start = value.find(esc, i)
        if start < 0:
            out.append(value[i:])
            break
        out.append(value[i:start])
        end = value.find(esc, start + 1)
        if end < 0:
            out.append(value[start:])
            break
        seq = value[start + 1 : end]
        out.append(_escape_sequence(seq, singles, esc))
        i = end + 1
    return "".join(out)


def _escape_sequence(seq: str, singles: dict[str, str], esc: str) -> str:
    literal = f"{esc}{seq}{esc}"
    if seq in singles:
        return singles[seq]
    if seq.startswith("."):
        m = re.fullmatch(r"\.(br|sp|ce|fi|nf|in|ti|sk)\s*([+-]?\d+)?", seq)
        if m is None:
            return literal
        cmd, num = m.group(1), int(m.group(2) or 1)
        if cmd in ("br", "ce"):
            return "\n"
        if cmd == "sp":
            return "\n" * max(num, 1)
        if cmd == "sk":
            return " " * max(num, 0)
        return ""  # fill mode and indentation are layout only
    if seq[:1] == "X":
        try:
            raw = bytes.fromhex(seq[1:])
        except ValueError:
            return literal
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    if seq[:1] in ("C", "M", "Z"):
        return ""  # character-set switches and locally defined escapes carry no text
    return literal


def normalise(data: str | bytes) -> str:
    """Return the message with ``\\r`` segment separators, MLLP framing, BOM and blank lines removed.

    Raises
    ------
    IngestError
        Empty input, input that does not start with an MSH segment, or a batch of several messages.
    """
    if isinstance(data, bytes | bytearray):
        raw = bytes(data).removeprefix(b"\xef\xbb\xbf")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # v2 predates UTF-8 as the default; Latin-1 decodes any byte and keeps ASCII delimiters intact.
            text = raw.decode("latin-1")
    elif isinstance(data, str):
        text = data
    else:
        raise IngestError("hl7", "MSH", f"expected str or bytes, got {type(data).__name__}")
    text = text.removeprefix("\ufeff").strip("\x0b\x1c\r\n\t ")
    segments = [s for s in text.replace("\r\n", "\r").replace("\n", "\r").split("\r") if s.strip()]
    if not segments:
        raise IngestError("hl7", "MSH", "message is empty")
    first = segments[0]
    if first[:3] in ("FHS", "BHS"):
        raise IngestError("hl7", first[:3], "batch files are not supported; send one message at a time")
    if not first.startswith("MSH") or len(first) < 8 or first[3].isalnum():
        raise IngestError("hl7", "MSH", "message does not start with an MSH segment")
    count = sum(1 for s in segments if s.startswith("MSH" + first[3]))
    if count > 1:
        raise IngestError("hl7", "MSH", f"input holds {count} messages; send one message at a time")
    return "\r".join(segments)


def _load(data: str | bytes | hl7.Message) -> tuple[hl7.Message, Delimiters]:
    if isinstance(data, hl7.Message):
        msg = data
    else:
        text = normalise(data)
        try:
            msg = hl7.parse(text)
        except Exception as exc:  # the hl7 package raises several unrelated types on bad input
            raise IngestError("hl7", "MSH", f"message could not be parsed ({type(exc).__name__})") from None
    msh = _segments(msg, "MSH")
    if not msh:
        raise IngestError("hl7", "MSH", "message has no MSH segment")
    seps = msg.separators  # "\r|~^&"
    enc = _field(msh[0], 2)
    delimiters = Delimiters(
        field=seps[1],
        repetition=seps[2],
        component=seps[3],
        subcomponent=seps[4],
        escape=msg.esc,
        truncation=enc[4] if len(enc) > 4 else "#",
    )
    return msg, delimiters


def _segments(msg: hl7.Message, sid: str) -> list[hl7.Segment]:
    return [seg for seg in msg if len(seg) and str(seg[0]) == sid]


def _field(seg: hl7.Segment, n: int) -> str:
    return str(seg[n]) if n < len(seg) else ""


def _component(raw: str, d: Delimiters, comp: int = 1, rep: int = 1) -> str:
    reps = raw.split(d.repetition)
    if rep > len(reps):
        return ""
    comps = reps[rep - 1].split(d.component)
    return comps[comp - 1] if comp <= len(comps) else ""


def _date(seg: hl7.Segment | None, n: int, name: str, d: Delimiters) -> date | None:
    if seg is None:
        return None
    # Before v2.6 a TS field may carry a degree-of-precision component: the first one is the time.
    value = _component(_field(seg, n), d)
    try:
        return hl7_date(value)
    except ValueError:
        raise IngestError("hl7", f"{name}-{n}", "not a valid HL7 date/time") from None


def _first(msg: hl7.Message, sid: str) -> hl7.Segment | None:
    found = _segments(msg, sid)
    return found[0] if found else None


def _patient(pid: hl7.Segment, d: Delimiters) -> dict[str, Any]:
    found: dict[str, Any] = {}
    pid3 = _component(_field(pid, 3), d)
    found["patient_id"] = unescape(pid3 or _component(_field(pid, 2), d), d) or None
    pid5 = _field(pid, 5)
    family = unescape(_component(pid5, d, 1).split(d.subcomponent)[0], d)
    given = [unescape(_component(pid5, d, c), d) for c in (2, 3)]
    name = " ".join(p for p in [*given, family] if p)
    found["name"] = name or None
    birth = _date(pid, 7, "PID", d)
    if birth is not None:
        found["birth_date"] = birth
    sex = _component(_field(pid, 8), d).strip().upper()
    if sex in _SEX:
        found["sex"] = _SEX[sex]
    elif sex not in _UNKNOWN_SEX:
        raise IngestError(
            "hl7", "PID-8", "administrative sex is not a value of HL7 table 0001 (M, F, U, O, A, N)"
        )
    return found


def _ed_text(raw: str, d: Delimiters, where: str) -> tuple[str | None, str | None]:
    """Text from an encapsulated-data OBX-5 (``source^type^subtype^encoding^data``), or its media type."""
    kind = _component(raw, d, 2).strip().lower()
    subtype = _component(raw, d, 3).strip().lower()
    encoding = _component(raw, d, 4).strip().lower()
    data = _component(raw, d, 5)
    media = _TEXT_MEDIA.get(subtype) or (_TEXT_MEDIA.get(f"{kind}/{subtype}") if kind else None)
    if kind == "text" and not subtype:
        media = "text/plain"
    if media is None:
        return None, "/".join(p for p in (kind, subtype) if p) or "unknown"
    if encoding == "base64":
        try:
            payload = base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise IngestError("hl7", where, "encapsulated data is not valid base64") from None
        try:
            body = payload.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise IngestError("hl7", where, "encapsulated text is not valid UTF-8") from None
    elif encoding == "hex":
        try:
            body = bytes.fromhex(data).decode("utf-8-sig")
        except (ValueError, UnicodeDecodeError):
            raise IngestError("hl7", where, "encapsulated data is not valid hex-encoded UTF-8") from None
    else:
        body = unescape(data, d)
    try:
        if media == "text/html":
            return html_to_text(body), None
        if media == "text/rtf":
            return rtf_to_text(body), None
    except ValueError as exc:
        raise IngestError("hl7", where, f"could not read encapsulated {media}: {exc}") from None
    return body, None


@dataclass
class _Doc:
    note_id: str | None
    title: str | None
    lines: list[str]


def _notes(msg: hl7.Message, d: Delimiters, msg_type: str) -> list[Note]:
    if msg_type == "ADT":
        return []
    docs: list[_Doc] = []
    current: _Doc | None = None
    binary: str | None = None
    for seg in msg:
        sid = str(seg[0]) if len(seg) else ""
        if sid == "TXA":
            title = _component(_field(seg, 2), d, 2) or _component(_field(seg, 2), d, 1)
            current = _Doc(
                unescape(_component(_field(seg, 12), d), d) or None, unescape(title, d) or None, []
            )
            docs.append(current)
        elif sid == "OBR" and msg_type == "ORU":
            title = _component(_field(seg, 4), d, 2) or _component(_field(seg, 4), d, 1)
            note_id = _component(_field(seg, 3), d) or _component(_field(seg, 2), d)
            current = _Doc(unescape(note_id, d) or None, unescape(title, d) or None, [])
            docs.append(current)
        elif sid == "OBX":
            if _component(_field(seg, 11), d).upper() in _WITHDRAWN:
                continue
            value_type = _component(_field(seg, 2), d).upper()
            raw = _field(seg, 5)
            if value_type in TEXT_VALUE_TYPES:
                text = "\n".join(unescape(r, d) for r in raw.split(d.repetition))
            elif value_type == "ED":
                text, media = _ed_text(raw, d, "OBX-5")
                binary = binary or media
                if text is None:
                    continue
            else:
                continue
            if current is None:
                current = _Doc(None, None, [])
                docs.append(current)
            current.lines.append(text)
    notes = []
    for doc in docs:
        # Each OBX is one line of the document; only the blank lines around it are trimmed.
        body = "\n".join(doc.lines).strip("\n")
        if body.strip():
            notes.append(
                Note(note_id=fit_id(doc.note_id, "doc"), text=body, source_format="hl7", title=doc.title)
            )
    if not notes and binary is not None:
        raise IngestError(
            "hl7", "OBX-5", f"document content is encapsulated {binary}; only text can be coded"
        )
    return notes


def _diagnoses(msg: hl7.Message, d: Delimiters) -> list[str]:
    ranked: list[tuple[int, int, str]] = []
    for i, seg in enumerate(_segments(msg, "DG1")):
        dg13 = _field(seg, 3)
        system = (_component(dg13, d, 3) or _field(seg, 2)).strip().upper()
        if system not in ICD10CM_SYSTEMS:
            continue
        code = unescape(_component(dg13, d, 1), d).strip().upper().replace(".", "")
        if not _ICD10CM_SHAPE.match(code):
            raise IngestError("hl7", "DG1-3", "coded as ICD-10-CM but the code is not ICD-10-CM shaped")
        priority = _component(_field(seg, 15), d).strip()
        # DG1-15 priority 1 is the principal diagnosis; unranked ones keep message order after ranked.
        rank = int(priority) if priority.isdigit() and int(priority) > 0 else 10_000
        ranked.append((rank, i, dotted(code)))
    seen: list[str] = []
    for _, _, code in sorted(ranked):
        if code not in seen:
            seen.append(code)
    return seen


def parse_hl7(
    data: str | bytes,
    *,
    encounter_id: str | None = None,
    date_of_service: date | None = None,
    patient: Patient | None = None,
    **encounter_fields: Any,
) -> Encounter:
    """Parse one ADT, ORU or MDM message into an Encounter.

    Parameters
    ----------
    data : str or bytes
        One HL7 v2 message; segments may end in ``\\r``, ``\\n`` or ``\\r\\n``.
    encounter_id, date_of_service, patient
        Used only where the message does not state them.
    **encounter_fields
        Any other Encounter field (``payer``, ``tenant_id``...). ``setting`` and ``place_of_service``
        are read from PV1-2 (I, E, O) when present.

    Returns
    -------
    Encounter
        ``encounter_id`` from PV1-19, else TXA-12, else MSH-10. ``date_of_service`` from PV1-44, else
        TXA-4, else OBR-7, else MSH-7. Patient id from PID-3 (else PID-2), sex from PID-8, birth date
        from PID-7 with the age on the date of service. ICD-10-CM codes in DG1-3 go to
        ``source_diagnoses`` (dotted, principal first). Notes: MDM TXA + OBX text, ORU OBX text per
        OBR; none for ADT.

    Raises
    ------
    IngestError
        Unparseable input, an unsupported message type, a missing PID, invalid dates or sex, a
        non-ICD-10-CM-shaped DG1 code, or a document whose only content is non-text data (PDF).
    """
    msg, d = _load(data)
    msh = _segments(msg, "MSH")[0]
    msg_type = _component(_field(msh, 9), d).upper()
    if not msg_type:
        raise IngestError("hl7", "MSH-9", "message type is missing")
    if msg_type not in SUPPORTED_TYPES:
        raise IngestError("hl7", "MSH-9", f"message type {msg_type[:8]} is not supported (ADT, ORU or MDM)")
    pid = _first(msg, "PID")
    if pid is None:
        raise IngestError("hl7", "PID", "message has no PID segment")
    pv1, txa, obr = _first(msg, "PV1"), _first(msg, "TXA"), _first(msg, "OBR")

    dos = (
        _date(pv1, 44, "PV1", d)
        or _date(txa, 4, "TXA", d)
        or _date(obr, 7, "OBR", d)
        or _date(msh, 7, "MSH", d)
    )
    eid = (
        (_component(_field(pv1, 19), d) if pv1 is not None else "")
        or (_component(_field(txa, 12), d) if txa is not None else "")
        or _component(_field(msh, 10), d)
    )
    found: dict[str, Any] = {}
    if pv1 is not None:
        klass = _component(_field(pv1, 2), d).strip().upper()
        if klass in _PATIENT_CLASS:
            found["setting"], found["place_of_service"] = _PATIENT_CLASS[klass]

    return build_encounter(
        "hl7",
        notes=_notes(msg, d, msg_type),
        encounter_id=fit_id(unescape(eid, d), "hl7"),
        date_of_service=dos,
        patient=_patient(pid, d),
        defaults={
            **encounter_fields,
            "encounter_id": encounter_id,
            "date_of_service": date_of_service,
            "patient": patient,
        },
        birth_field="PID-7",
        date_field="MSH-7",
        source_diagnoses=_diagnoses(msg, d),
        found=found,
    )


def ack(
    message: str | bytes | hl7.Message,
    code: AckCode = "AA",
    text: str | None = None,
    *,
    message_id: str | None = None,
) -> str:
    """Build the ACK for a message (original-mode acknowledgement, MSH + MSA).

    Parameters
    ----------
    message : str, bytes or hl7.Message
        The message being acknowledged.
    code : {"AA", "AE", "AR", "CA", "CE", "CR"}
        HL7 table 0008 acknowledgement code.
    text : str, optional
        MSA-3 text, escaped for HL7. It travels back to the sender: never put PHI in it (an
        ``IngestError``'s message is safe).
    message_id : str, optional
        MSH-10 of the ACK; generated when omitted.

    Returns
    -------
    str
        The ACK with ``\\r`` segment separators.

    Raises
    ------
    IngestError
        When the message cannot be parsed far enough to read its MSH.
    """
    if code not in ("AA", "AE", "AR", "CA", "CE", "CR"):
        raise ValueError(f"unknown acknowledgement code {code!r}")
    msg, _ = _load(message)
    try:
        reply = msg.create_ack(ack_code=code, message_id=message_id)
        if text:
            reply.segment("MSA").assign_field(msg.escape(text.replace("\r", " ").replace("\n", " ")), 3)
    except Exception as exc:  # missing MSH fields surface as IndexError/KeyError inside the hl7 package
        raise IngestError("hl7", "MSH", f"cannot acknowledge this message ({type(exc).__name__})") from None
    return str(reply)
