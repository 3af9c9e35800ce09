"""FHIR R4 (via ``fhir.resources.R4B``) DocumentReference and Bundle into an Encounter.

A DocumentReference's ``content`` repetitions are alternative renderings of one document, so each
DocumentReference yields one note, read from the most useful rendering. A Bundle may add the Patient,
the Encounter and the Binary resources that attachments point to. Nothing is fetched over the network:
an attachment ``url`` that is not in the Bundle needs a ``resolver`` from the caller.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle as FhirBundle
from fhir.resources.R4B.documentreference import DocumentReference as FhirDocumentReference
from pydantic import ValidationError

from medcore.errors import IngestError
from medcore.ingest.assemble import build_encounter, fit_id
from medcore.ingest.ccda import read_ccda
from medcore.ingest.markup import html_to_text, rtf_to_text
from medcore.model import Encounter, Note, Patient, Setting

Resolver = Callable[[str], bytes]
"""Fetches an attachment URL that is not in the Bundle; returns the raw content."""

DOCUMENT_STATUSES = frozenset({"current", "superseded", "entered-in-error"})
BUNDLE_TYPES = frozenset({"collection", "transaction", "searchset", "document"})
CDA_TYPES = frozenset({"application/xml", "text/xml", "application/hl7-v3+xml", "application/cda+xml"})
RTF_TYPES = frozenset({"text/rtf", "application/rtf"})
# Preference among renderings of the same document: plain text needs no conversion at all.
_PREFERENCE = ("text/plain", *sorted(CDA_TYPES), "text/html", *sorted(RTF_TYPES))
_GENDER = {"male": "M", "female": "F", "other": None, "unknown": None}
# Encounter.class (v3 ActCode) → setting and the matching CMS place of service.
_CLASS = {
    "IMP": (Setting.inpatient, "21"),
    "ACUTE": (Setting.inpatient, "21"),
    "NONAC": (Setting.inpatient, "21"),
    "EMER": (Setting.ed, "23"),
    "VR": (Setting.telehealth, "02"),
}
_REF = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


@dataclass
class _Index:
    """Bundle resources, findable by fullUrl and by ``Type/id``."""

    by_ref: dict[str, Any] = field(default_factory=dict)
    by_type: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, resource: Any, full_url: str | None) -> None:
        rtype = resource.get_resource_type()
        self.by_type.setdefault(rtype, []).append(resource)
        if full_url:
            self.by_ref[full_url] = resource
        if resource.id:
            self.by_ref[f"{rtype}/{resource.id}"] = resource

    def find(self, reference: str | None, rtype: str) -> Any | None:
        if not reference:
            return None
        hit = self.by_ref.get(reference)
        if hit is None:
            m = _REF.search(reference)
            if m is not None and m.group(1) == rtype:
                hit = self.by_ref.get(f"{rtype}/{m.group(2)}")
        return hit if hit is not None and hit.get_resource_type() == rtype else None

    def only(self, rtype: str, what: str) -> Any | None:
        found = self.by_type.get(rtype, [])
        if len(found) > 1:
            raise IngestError(
                "fhir", "Bundle.entry", f"bundle holds {len(found)} {rtype} resources; {what} must name one"
            )
        return found[0] if found else None


def _path(loc: tuple[Any, ...], root: str) -> str:
    out = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("resource_type",):
            out += f".{part}"
        else:
            out += ".resourceType"
    return out


def _load_json(data: str | bytes | dict[str, Any]) -> dict[str, Any]:
    if isinstance(data, dict):
        return data
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise IngestError("fhir", "(document)", "input is not valid UTF-8") from None
    if not isinstance(data, str):
        raise IngestError("fhir", "(document)", f"expected str, bytes or dict, got {type(data).__name__}")
    if not data.strip():
        raise IngestError("fhir", "(document)", "input is empty")
    try:
        obj = json.loads(data.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        raise IngestError(
            "fhir", "(document)", f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise IngestError("fhir", "(document)", "JSON is nested too deeply") from None
    if not isinstance(obj, dict):
        raise IngestError("fhir", "(document)", "JSON is not an object")
    return obj


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _check_base64(obj: dict[str, Any], path: str) -> None:
    """Strictly check attachment and Binary ``data``: the model's decoder silently drops stray characters.

    Only those elements are base64 here; other ``data`` elements (SampledData.data) are not.
    """

    def check(value: Any, where: str) -> None:
        if isinstance(value, str):
            try:
                base64.b64decode("".join(value.split()), validate=True)
            except (binascii.Error, ValueError):
                raise IngestError("fhir", where, "not valid base64") from None

    def resource(res: Any, where: str) -> None:
        if not isinstance(res, dict):
            return
        rtype = res.get("resourceType")
        if rtype == "Binary":
            check(res.get("data"), f"{where}.data")
        elif rtype == "DocumentReference":
            for j, item in enumerate(_as_list(res.get("content"))):
                att = item.get("attachment") if isinstance(item, dict) else None
                if isinstance(att, dict):
                    check(att.get("data"), f"{where}.content[{j}].attachment.data")
            for k, inner in enumerate(_as_list(res.get("contained"))):
                resource(inner, f"{where}.contained[{k}]")

    if obj.get("resourceType") == "Bundle":
        for i, entry in enumerate(_as_list(obj.get("entry"))):
            if isinstance(entry, dict):
                resource(entry.get("resource"), f"{path}.entry[{i}].resource")
    else:
        resource(obj, path)


def _validate(obj: dict[str, Any]) -> Any:
    rtype = obj.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise IngestError("fhir", "resourceType", "missing; not a FHIR resource")
    models = {"DocumentReference": FhirDocumentReference, "Bundle": FhirBundle}
    if rtype not in models:
        shown = rtype if re.fullmatch(r"[A-Za-z]{1,40}", rtype) else "this resourceType"
        raise IngestError(
            "fhir", "resourceType", f"{shown} is not supported; send a DocumentReference or a Bundle"
        )
    _check_base64(obj, rtype)
    try:
        return models[rtype].model_validate(obj)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise IngestError(
            "fhir", _path(err.get("loc", ()), rtype), f"invalid: {err.get('type', 'invalid')}{more}"
        ) from None
    except Exception as exc:
        # fhir.resources raises KeyError for an unknown resourceType inside a Bundle, and
        # AttributeError/TypeError for some wrongly typed elements, before pydantic reports them.
        raise IngestError(
            "fhir",
            rtype,
            f"could not be read ({type(exc).__name__}): an unknown resource type or a wrongly typed element",
        ) from None


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", value):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None  # a partial date (year or year-month) names no day


def _media(content_type: str | None) -> tuple[str, str | None]:
    if not content_type:
        return "", None
    parts = [p.strip() for p in content_type.split(";")]
    charset = None
    for p in parts[1:]:
        if p.lower().startswith("charset="):
            charset = p.split("=", 1)[1].strip().strip('"')
    return parts[0].lower(), charset


@dataclass
class _Content:
    text: str
    cda: dict[str, Any] = field(default_factory=dict)
    cda_dos: date | None = None


def _decode(payload: bytes, charset: str | None, where: str, default: str = "utf-8") -> str:
    try:
        return payload.decode(charset or default).removeprefix("\ufeff")
    except (LookupError, UnicodeDecodeError):
        raise IngestError("fhir", where, f"content is not valid {charset or default} text") from None


def _convert(payload: bytes, media: str, charset: str | None, where: str) -> _Content:
    if media == "text/plain":
        return _Content(_decode(payload, charset, where))
    if media == "text/html":
        return _Content(html_to_text(_decode(payload, charset, where)))
    if media in RTF_TYPES:
        # RTF is 7-bit with escapes; Latin-1 keeps any stray high byte's value for the code-page decoder.
        try:
            return _Content(rtf_to_text(_decode(payload, charset, where, default="latin-1")))
        except ValueError as exc:
            raise IngestError("fhir", where, f"could not read RTF: {exc}") from None
    try:
        doc = read_ccda(payload)
    except IngestError as exc:
        raise IngestError("fhir", f"{where} (CDA {exc.field})", exc.reason) from None
    return _Content(doc.text, cda=doc.patient, cda_dos=doc.date_of_service)


def _attachment_bytes(
    att: Any, where: str, doc: Any, index: _Index, resolver: Resolver | None
) -> tuple[bytes, str | None]:
    """The raw content and, when the attachment does not say, the content type of the Binary it points to."""
    if att.data is not None:
        return bytes(att.data), None
    url = att.url
    if not url:
        raise IngestError("fhir", where, "attachment has neither data nor url")
    binary = None
    if url.startswith("#"):
        binary = next(
            (c for c in doc.contained or [] if c.get_resource_type() == "Binary" and c.id == url[1:]), None
        )
    else:
        binary = index.find(url, "Binary")
    if binary is not None:
        if binary.data is None:
            raise IngestError("fhir", f"{where}.url", "the Binary it points to has no data")
        return bytes(binary.data), binary.contentType
    if resolver is None:
        raise IngestError("fhir", f"{where}.url", "points outside the Bundle and no resolver was given")
    try:
        payload = resolver(url)
    except IngestError:
        raise
    except Exception as exc:  # a caller's resolver may fail in any way; report it as this attachment's fault
        raise IngestError("fhir", f"{where}.url", f"resolver failed ({type(exc).__name__})") from None
    if not isinstance(payload, bytes | bytearray):
        raise IngestError("fhir", f"{where}.url", "resolver did not return bytes")
    return bytes(payload), None


def _read_document(doc: Any, path: str, index: _Index, resolver: Resolver | None) -> _Content:
    candidates = []
    seen_types = []
    for j, item in enumerate(doc.content or []):
        att = item.attachment
        if att is None:
            continue
        media, _ = _media(att.contentType)
        if not media and att.url and not att.data:
            # The type may be on the Binary the url points to.
            bin_ = index.find(att.url, "Binary")
            media, _ = _media(bin_.contentType if bin_ is not None else None)
        seen_types.append(media or "(none)")
        if media in _PREFERENCE:
            candidates.append((_PREFERENCE.index(media), j, att, media))
    if not candidates:
        shown = ", ".join(sorted(set(seen_types))) or "none"
        raise IngestError(
            "fhir", f"{path}.content", f"no attachment with a supported content type (found: {shown})"
        )
    _, j, att, media = min(candidates, key=lambda c: (c[0], c[1]))
    where = f"{path}.content[{j}].attachment"
    payload, binary_type = _attachment_bytes(att, where, doc, index, resolver)
    _, charset = _media(att.contentType or binary_type)
    if not payload.strip():
        raise IngestError("fhir", where, "attachment is empty")
    content = _convert(payload, media, charset, where)
    if not content.text.strip():
        raise IngestError("fhir", where, f"no text could be read from the {media} attachment")
    return content


def _patient(resource: Any | None) -> dict[str, Any]:
    if resource is None:
        return {}
    found: dict[str, Any] = {"patient_id": resource.id}
    if resource.gender is not None:
        if resource.gender not in _GENDER:
            raise IngestError("fhir", "Patient.gender", "must be male, female, other or unknown")
        found["sex"] = _GENDER[resource.gender]
    found["birth_date"] = _as_date(resource.birthDate)
    if resource.name:
        n = resource.name[0]
        found["name"] = n.text or " ".join([*(n.given or []), n.family or ""]).strip() or None
    return found


def _title(doc: Any) -> str | None:
    if doc.description:
        return doc.description
    if doc.type is not None:
        if doc.type.text:
            return doc.type.text
        for coding in doc.type.coding or []:
            if coding.display:
                return coding.display
    return None


def _ref_id(reference: str | None) -> str | None:
    if not reference:
        return None
    m = _REF.search(reference)
    return m.group(2) if m is not None else None


def parse_fhir(
    data: str | bytes | dict[str, Any],
    *,
    resolver: Resolver | None = None,
    encounter_id: str | None = None,
    date_of_service: date | None = None,
    patient: Patient | None = None,
    **encounter_fields: Any,
) -> Encounter:
    """Parse a FHIR R4 DocumentReference, or a Bundle of them, into an Encounter.

    Parameters
    ----------
    data : str, bytes or dict
        JSON of a DocumentReference, or of a Bundle (collection, transaction, searchset or document)
        holding DocumentReference(s) and optionally Patient, Encounter and Binary resources.
    resolver : callable, optional
        ``resolver(url) -> bytes`` for attachment URLs outside the Bundle. Without one such a URL is
        an error: nothing is fetched over the network.
    encounter_id, date_of_service, patient
        Used only where the resources do not state them.
    **encounter_fields
        Any other Encounter field (``payer``, ``tenant_id``...). ``setting``/``place_of_service``
        come from Encounter.class when it is IMP, ACUTE, NONAC, EMER or VR.

    Returns
    -------
    Encounter
        One note per DocumentReference (entered-in-error ones in a Bundle are skipped). Attachments
        may be text/plain, text/html, RTF or CDA XML, inline (``data``) or by ``url`` to a Binary.
        ``date_of_service`` from Encounter.period.start, else DocumentReference.context.period.start,
        else DocumentReference.date, else a CDA attachment's own date.

    Raises
    ------
    IngestError
        Invalid JSON or resource, unsupported resourceType or Bundle type, bad base64, an invalid or
        entered-in-error status, no supported attachment, an unresolved url, or no date of service.
    """
    resource = _validate(_load_json(data))
    index = _Index()
    docs: list[tuple[str, Any]] = []
    if resource.get_resource_type() == "Bundle":
        if resource.type not in BUNDLE_TYPES:
            raise IngestError("fhir", "Bundle.type", "must be collection, transaction, searchset or document")
        for i, entry in enumerate(resource.entry or []):
            if entry.resource is None:
                continue
            index.add(entry.resource, entry.fullUrl)
            if entry.resource.get_resource_type() == "DocumentReference":
                docs.append((f"Bundle.entry[{i}].resource", entry.resource))
        if not docs:
            raise IngestError("fhir", "Bundle.entry", "bundle holds no DocumentReference")
    else:
        docs.append(("DocumentReference", resource))

    kept: list[tuple[str, Any]] = []
    for path, doc in docs:
        if doc.status not in DOCUMENT_STATUSES:
            raise IngestError("fhir", f"{path}.status", "must be current, superseded or entered-in-error")
        if doc.status != "entered-in-error":
            kept.append((path, doc))
    if not kept:
        raise IngestError(
            "fhir", f"{docs[0][0]}.status", "document was entered in error and must not be coded"
        )

    notes: list[Note] = []
    cda_patient: dict[str, Any] = {}
    cda_dos: date | None = None
    for path, doc in kept:
        content = _read_document(doc, path, index, resolver)
        cda_patient = cda_patient or content.cda
        cda_dos = cda_dos or content.cda_dos
        notes.append(
            Note(note_id=fit_id(doc.id, "doc"), text=content.text, source_format="fhir", title=_title(doc))
        )

    first = kept[0][1]
    subjects = {d.subject.reference for _, d in kept if d.subject is not None and d.subject.reference}
    if len(subjects) > 1:
        raise IngestError(
            "fhir", "DocumentReference.subject", "documents in one Encounter must share one patient"
        )
    fhir_patient = index.find(next(iter(subjects)), "Patient") if subjects else None
    if fhir_patient is None:
        fhir_patient = index.only("Patient", "DocumentReference.subject")
    context = first.context
    enc_ref = context.encounter[0].reference if context is not None and context.encounter else None
    fhir_encounter = index.find(enc_ref, "Encounter") or (
        None if enc_ref else index.only("Encounter", "DocumentReference.context.encounter")
    )

    found_patient = {k: v for k, v in cda_patient.items() if v is not None}
    found_patient.update({k: v for k, v in _patient(fhir_patient).items() if v is not None})
    dos = (
        (
            _as_date(fhir_encounter.period.start)
            if fhir_encounter is not None and fhir_encounter.period
            else None
        )
        or (_as_date(context.period.start) if context is not None and context.period else None)
        or _as_date(first.date)
        or cda_dos
    )
    found: dict[str, Any] = {}
    klass = (
        fhir_encounter.class_fhir.code if fhir_encounter is not None and fhir_encounter.class_fhir else None
    )
    if klass in _CLASS:
        found["setting"], found["place_of_service"] = _CLASS[klass]
    eid = (fhir_encounter.id if fhir_encounter is not None else None) or _ref_id(enc_ref) or first.id

    return build_encounter(
        "fhir",
        notes=notes,
        encounter_id=fit_id(eid, "fhir"),
        date_of_service=dos,
        patient=found_patient,
        defaults={
            **encounter_fields,
            "encounter_id": encounter_id,
            "date_of_service": date_of_service,
            "patient": patient,
        },
        birth_field="Patient.birthDate",
        date_field="DocumentReference.date",
        found=found,
    )
