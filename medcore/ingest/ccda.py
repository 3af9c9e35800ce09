"""C-CDA R2.1 documents: the narrative of every section, under its title, becomes one note.

Section titles are written as header lines (``ASSESSMENT AND PLAN:``) so a downstream section detector
finds them. Only the human-readable narrative (``section/text``) is read; coded entries are not, since
the narrative is what a coder reads and what evidence offsets point into.

XML is parsed with defusedxml: no DTDs, no entity expansion, no external references.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import defusedxml
import defusedxml.ElementTree as SafeET

from medcore.errors import IngestError
from medcore.ingest.assemble import build_encounter, fit_id
from medcore.ingest.markup import LineBuilder, html_to_text, rtf_to_text, tidy_lines
from medcore.ingest.timestamps import hl7_date
from medcore.model import Encounter, Note, Patient

NS = "urn:hl7-org:v3"
_N = {"h": NS}
_WS = re.compile(r"[ \t\r\n\f\v]+")
_SEX = {"M": "M", "F": "F"}
_BLOCKS = frozenset({"paragraph", "list", "table", "thead", "tbody", "tfoot", "tr", "caption", "colgroup"})
_CELLS = frozenset({"td", "th"})
_SKIP = frozenset({"renderMultiMedia", "footnoteRef", "col"})


@dataclass(frozen=True)
class CcdaDocument:
    """What ``read_ccda`` extracts from a ClinicalDocument (``text`` may be empty)."""

    text: str
    title: str | None = None
    document_id: str | None = None
    encounter_id: str | None = None
    date_of_service: date | None = None
    patient: dict[str, Any] = field(default_factory=dict)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _flat(el: ET.Element | None) -> str:
    return _WS.sub(" ", "".join(el.itertext())).strip() if el is not None else ""


def _parse_xml(data: str | bytes) -> ET.Element:
    if isinstance(data, str):
        # A str is already decoded: hand expat UTF-8 and drop any declared encoding so that it does
        # not decode the text a second time.
        data = data.removeprefix("\ufeff").encode("utf-8")
        data = re.sub(rb"^(<\?xml[^>]*?)\sencoding=[\"'][^\"']*[\"']", rb"\1", data, count=1)
    if not data.strip():
        raise IngestError("ccda", "ClinicalDocument", "document is empty")
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except ET.ParseError as exc:
        line, col = getattr(exc, "position", (0, 0))
        raise IngestError(
            "ccda", "ClinicalDocument", f"not well-formed XML at line {line}, column {col}"
        ) from None
    except defusedxml.DefusedXmlException as exc:
        raise IngestError("ccda", "ClinicalDocument", f"refused unsafe XML ({type(exc).__name__})") from None
    except (ValueError, UnicodeError):
        raise IngestError("ccda", "ClinicalDocument", "document could not be decoded") from None


def _ts(el: ET.Element | None, where: str) -> date | None:
    """An effectiveTime's start: ``@value``, else ``low/@value``, else ``high/@value``."""
    if el is None:
        return None
    candidates = [
        (el.get("value"), where),
        (el.find("h:low", _N).get("value") if el.find("h:low", _N) is not None else None, where + "/low"),
        (el.find("h:high", _N).get("value") if el.find("h:high", _N) is not None else None, where + "/high"),
    ]
    for value, path in candidates:
        if value:
            try:
                d = hl7_date(value)
            except ValueError:
                raise IngestError("ccda", path, "not a valid HL7 timestamp") from None
            if d is not None:
                return d
    return None


def _instance_id(el: ET.Element | None) -> str | None:
    if el is None or el.get("nullFlavor"):
        return None
    # The extension is the sender's own identifier; the root alone is used when there is none.
    return el.get("extension") or el.get("root")


def _patient(root: ET.Element) -> dict[str, Any]:
    role = root.find("h:recordTarget/h:patientRole", _N)
    if role is None:
        raise IngestError("ccda", "recordTarget/patientRole", "document has no recordTarget patient")
    found: dict[str, Any] = {}
    pid = role.find("h:id", _N)
    if pid is not None and not pid.get("nullFlavor"):
        found["patient_id"] = pid.get("extension") or pid.get("root")
    pat = role.find("h:patient", _N)
    if pat is None:
        return found
    name = pat.find("h:name", _N)
    if name is not None:
        given = [_flat(g) for g in name.findall("h:given", _N)]
        family = [_flat(f) for f in name.findall("h:family", _N)]
        full = " ".join(p for p in [*given, *family] if p) or _flat(name)
        found["name"] = full or None
    gender = pat.find("h:administrativeGenderCode", _N)
    if gender is not None and gender.get("code", "").upper() in _SEX:
        found["sex"] = _SEX[gender.get("code", "").upper()]
    birth = pat.find("h:birthTime", _N)
    if birth is not None and birth.get("value"):
        try:
            found["birth_date"] = hl7_date(birth.get("value", ""))
        except ValueError:
            raise IngestError(
                "ccda", "recordTarget/patientRole/patient/birthTime", "not a valid HL7 timestamp"
            ) from None
    return found


class _Narrative:
    """Renders a CDA narrative block (``section/text``) as lines of text."""

    def __init__(self) -> None:
        self.lines = LineBuilder()

    def render(self, el: ET.Element) -> str:
        self._children(el)
        return self.lines.value()

    def _text(self, s: str | None) -> None:
        if s:
            self.lines.text(_WS.sub(" ", s))

    def _children(self, el: ET.Element) -> None:
        self._text(el.text)
        for child in el:
            self._element(child)
            self._text(child.tail)

    def _element(self, el: ET.Element) -> None:
        tag = _local(el.tag)
        if not tag or tag in _SKIP:
            return  # comments, processing instructions, images
        if tag == "br":
            self.lines.hard_break()
        elif tag == "list":
            self.lines.end_line()
            ordered = el.get("listType") == "ordered"
            n = 0
            self._text(el.text)
            for child in el:
                if _local(child.tag) == "item":
                    n += 1
                    self.lines.end_line()
                    self.lines.text(f"{n}. " if ordered else "- ")
                    self._children(child)
                    self.lines.end_line()
                else:
                    self._element(child)
                self._text(child.tail)
            self.lines.end_line()
        elif tag in _BLOCKS or tag == "item":
            self.lines.end_line()
            self._children(el)
            self.lines.end_line()
        elif tag in _CELLS:
            self.lines.cell()
            self._children(el)
        else:  # content, linkHtml, sub, sup, footnote: inline
            self._children(el)


def _section_chunks(parent: ET.Element, out: list[str]) -> None:
    for comp in parent.findall("h:component", _N):
        sec = comp.find("h:section", _N)
        if sec is None:
            continue
        title = _flat(sec.find("h:title", _N))
        if not title:
            code = sec.find("h:code", _N)
            title = (code.get("displayName") or "").strip() if code is not None else ""
        text_el = sec.find("h:text", _N)
        body = _Narrative().render(text_el) if text_el is not None else ""
        nested: list[str] = []
        _section_chunks(sec, nested)
        if body:
            header = title.upper().rstrip(": ") + ":" if title else ""
            out.append(f"{header}\n{body}" if header else body)
        elif nested and title:
            out.append(title.upper().rstrip(": ") + ":")
        out.extend(nested)


def _non_xml_text(body: ET.Element) -> str:
    where = "component/nonXMLBody/text"
    text_el = body.find("h:text", _N)
    if text_el is None:
        raise IngestError("ccda", where, "unstructured body has no text element")
    if text_el.find("h:reference", _N) is not None:
        raise IngestError(
            "ccda",
            where + "/reference",
            "unstructured document refers to an external file that is not included",
        )
    media = (text_el.get("mediaType") or "text/plain").split(";")[0].strip().lower()
    raw = text_el.text or ""
    if (text_el.get("representation") or "TXT").upper() == "B64":
        try:
            payload = base64.b64decode("".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            raise IngestError("ccda", where, "embedded content is not valid base64") from None
        if media not in ("text/plain", "text/html", "text/rtf", "application/rtf"):
            raise IngestError(
                "ccda", where, f"embedded {media} content is not supported; only text can be coded"
            )
        try:
            raw = payload.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise IngestError("ccda", where, "embedded text is not valid UTF-8") from None
    elif media not in ("text/plain", "text/html", "text/rtf", "application/rtf"):
        raise IngestError("ccda", where, f"embedded {media} content is not supported; only text can be coded")
    try:
        if media == "text/html":
            return html_to_text(raw)
        if media in ("text/rtf", "application/rtf"):
            return rtf_to_text(raw)
    except ValueError as exc:
        raise IngestError("ccda", where, f"could not read {media}: {exc}") from None
    return tidy_lines(raw)


def read_ccda(data: str | bytes) -> CcdaDocument:
    """Read the note text, dates, identifiers and demographics of a C-CDA document.

    Parameters
    ----------
    data : str or bytes
        The ClinicalDocument XML.

    Returns
    -------
    CcdaDocument
        ``text`` is empty when the body holds no narrative (a header-only document).

    Raises
    ------
    IngestError
        Malformed or unsafe XML, a root that is not ClinicalDocument, an embedded PDF or other non-text
        body, a reference to an external file, or an invalid timestamp.
    """
    root = _parse_xml(data)
    if root.tag != f"{{{NS}}}ClinicalDocument":
        raise IngestError(
            "ccda",
            "ClinicalDocument",
            f"root element is {_local(root.tag) or 'unknown'}, not ClinicalDocument",
        )
    encounter = root.find("h:componentOf/h:encompassingEncounter", _N)
    # The encompassing encounter is the visit itself; a serviceEvent can span months (a CCD's care period).
    dos = (
        _ts(encounter.find("h:effectiveTime", _N) if encounter is not None else None,
            "componentOf/encompassingEncounter/effectiveTime")
        or _ts(root.find("h:documentationOf/h:serviceEvent/h:effectiveTime", _N),
               "documentationOf/serviceEvent/effectiveTime")
        or _ts(root.find("h:effectiveTime", _N), "effectiveTime")
    )  # fmt: skip
    body = root.find("h:component/h:structuredBody", _N)
    non_xml = root.find("h:component/h:nonXMLBody", _N)
    if body is not None:
        chunks: list[str] = []
        _section_chunks(body, chunks)
        text = "\n\n".join(chunks)
    elif non_xml is not None:
        text = _non_xml_text(non_xml)
    else:
        raise IngestError("ccda", "component", "document has neither a structuredBody nor a nonXMLBody")
    return CcdaDocument(
        text=text,
        title=_flat(root.find("h:title", _N)) or None,
        document_id=_instance_id(root.find("h:id", _N)),
        encounter_id=_instance_id(encounter.find("h:id", _N)) if encounter is not None else None,
        date_of_service=dos,
        patient=_patient(root),
    )


def parse_ccda(
    data: str | bytes,
    *,
    encounter_id: str | None = None,
    date_of_service: date | None = None,
    patient: Patient | None = None,
    **encounter_fields: Any,
) -> Encounter:
    """Parse a C-CDA document into an Encounter with one note (none for a header-only document).

    Parameters
    ----------
    data : str or bytes
        The ClinicalDocument XML.
    encounter_id, date_of_service, patient
        Used only where the document does not state them. The encounter id is taken from
        ``encompassingEncounter/id``, else the document ``id``; the date of service from the
        encompassing encounter, else ``serviceEvent``, else the document ``effectiveTime``.
    **encounter_fields
        Any other Encounter field (``setting``, ``payer``, ``tenant_id``...).

    Returns
    -------
    Encounter

    Raises
    ------
    IngestError
        See ``read_ccda``.
    """
    doc = read_ccda(data)
    notes = (
        [Note(note_id=doc.document_id, text=doc.text, source_format="ccda", title=doc.title)]
        if doc.text
        else []
    )
    return build_encounter(
        "ccda",
        notes=notes,
        encounter_id=fit_id(doc.encounter_id or doc.document_id, "ccda"),
        date_of_service=doc.date_of_service,
        patient=doc.patient,
        defaults={
            **encounter_fields,
            "encounter_id": encounter_id,
            "date_of_service": date_of_service,
            "patient": patient,
        },
        birth_field="recordTarget/patientRole/patient/birthTime",
        date_field="effectiveTime",
    )
