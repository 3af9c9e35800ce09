"""Bulk inputs, read lazily from a byte offset: FHIR Bulk Data ``$export`` NDJSON and HL7 v2 batch files.

Each reader yields :class:`Record` s whose ``end`` is the byte offset just past the record, which is
what the checkpoint stores, so a restarted job seeks there and carries on.

FHIR NDJSON holds one resource per line. A visit is a DocumentReference plus the Patient, Encounter
and Coverage it points to. Two layouts are read:

- one mixed file where a visit's Patient/Coverage/Encounter lines come before its DocumentReference
  (kept in a small bounded map, so memory stays flat), or
- an ``$export`` folder with ``Patient.ndjson``, ``Encounter.ndjson``, ``Coverage.ndjson`` and
  ``DocumentReference.ndjson``: the first three are indexed by id → byte offset (not loaded), and the
  DocumentReference file drives the job.

HL7 batch files (``FHS``/``BHS`` ... ``BTS``/``FTS``) are split into messages at each ``MSH``; the
file and batch envelopes are dropped. IN1 (insurance) is read for the payer and member id, which
the 837P needs and the HL7 parser does not keep.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Record", "read_fhir_export", "read_fhir_ndjson", "read_hl7_batch", "read_input", "read_manifest_records"]

_RECENT = 4096  # Patient/Encounter/Coverage lines kept while waiting for their DocumentReference


@dataclass
class Record:
    source: str
    end: int
    raw: str
    fmt: str
    overrides: dict[str, Any] = field(default_factory=dict)


def _lines(path: Path, start: int) -> Iterator[tuple[bytes, int]]:
    with open(path, "rb") as fh:
        fh.seek(start)
        pos = start
        for line in fh:
            pos += len(line)
            yield line, pos


def _coverage_overrides(cov: dict[str, Any] | None) -> dict[str, Any]:
    if not cov:
        return {}
    out: dict[str, Any] = {}
    if cov.get("subscriberId"):
        out["patient"] = {"member_id": cov["subscriberId"]}
    payor = (cov.get("payor") or [{}])[0]
    kind = ((cov.get("type") or {}).get("coding") or [{}])[0].get("code")
    payer = {"payer_id": (payor.get("identifier") or {}).get("value"), "name": payor.get("display")}
    if kind in ("medicare", "medicaid", "commercial", "self_pay"):
        payer["kind"] = kind
    if payer["payer_id"] and payer["name"]:
        out["payer"] = payer
    return out


def _bundle(doc: dict[str, Any], patient: dict | None, encounter: dict | None) -> str:
    entries = [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r} for r in (patient, encounter) if r]
    entries.append({"fullUrl": f"DocumentReference/{doc.get('id', 'doc')}", "resource": doc})
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}, separators=(",", ":"))


def _ref_id(ref: dict | None) -> str | None:
    value = (ref or {}).get("reference") or ""
    return value.rsplit("/", 1)[-1] or None


def read_fhir_ndjson(path: Path | str, start: int = 0) -> Iterator[Record]:
    """Visits from one mixed NDJSON file, from byte ``start`` (a checkpoint offset)."""
    path = Path(path)
    recent: dict[str, OrderedDict[str, dict]] = {"Patient": OrderedDict(), "Encounter": OrderedDict(),
                                                 "Coverage": OrderedDict()}
    for line, end in _lines(path, start):
        if not line.strip():
            continue
        res = json.loads(line)
        rtype = res.get("resourceType")
        if rtype in ("Patient", "Encounter"):
            _remember(recent[rtype], res["id"], res)
        elif rtype == "Coverage":
            _remember(recent["Coverage"], _ref_id(res.get("beneficiary")) or res.get("id", ""), res)
        elif rtype == "DocumentReference":
            pid = _ref_id(res.get("subject"))
            enc_refs = (res.get("context") or {}).get("encounter") or [None]
            eid = _ref_id(enc_refs[0])
            patient = recent["Patient"].get(pid) if pid else None
            encounter = recent["Encounter"].get(eid) if eid else None
            yield Record(str(path), end, _bundle(res, patient, encounter), "fhir",
                         _coverage_overrides(recent["Coverage"].get(pid) if pid else None))


def _remember(cache: OrderedDict, key: str, value: dict) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _RECENT:
        cache.popitem(last=False)


class _OffsetIndex:
    """id → byte offset of its line in one NDJSON file; the line is read back on demand."""

    def __init__(self, path: Path, key: str = "id"):
        self.path = path
        self.offsets: dict[str, int] = {}
        if path.exists():
            pos = 0
            with open(path, "rb") as fh:
                for line in fh:
                    if line.strip():
                        res = json.loads(line)
                        k = _ref_id(res.get("beneficiary")) if key == "beneficiary" else res.get("id")
                        if k:
                            self.offsets[k] = pos
                    pos += len(line)
        self._fh = open(path, "rb") if path.exists() else None

    def get(self, key: str | None) -> dict | None:
        if key is None or self._fh is None or key not in self.offsets:
            return None
        self._fh.seek(self.offsets[key])
        return json.loads(self._fh.readline())


def read_fhir_export(folder: Path | str, start: int = 0) -> Iterator[Record]:
    """Visits from an ``$export`` folder (one NDJSON file per resource type)."""
    folder = Path(folder)
    patients = _OffsetIndex(folder / "Patient.ndjson")
    encounters = _OffsetIndex(folder / "Encounter.ndjson")
    coverage = _OffsetIndex(folder / "Coverage.ndjson", key="beneficiary")
    docs = folder / "DocumentReference.ndjson"
    for line, end in _lines(docs, start):
        if not line.strip():
            continue
        doc = json.loads(line)
        pid = _ref_id(doc.get("subject"))
        eid = _ref_id(((doc.get("context") or {}).get("encounter") or [None])[0])
        yield Record(str(docs), end, _bundle(doc, patients.get(pid), encounters.get(eid)), "fhir",
                     _coverage_overrides(coverage.get(pid)))


def _segments(path: Path, start: int) -> Iterator[tuple[str, int]]:
    """HL7 segments with the byte offset just past each, whatever the separator (\\r, \\n, \\r\\n)."""
    with open(path, "rb") as fh:
        fh.seek(start)
        pos = start
        buf = b""
        while True:
            chunk = fh.read(1 << 16)
            if not chunk:
                break
            buf += chunk
            # keep the last (maybe partial) piece for the next chunk
            *done, buf = _split_keep(buf)
            for seg, length in done:
                pos += length
                if seg.strip():
                    yield seg.decode("utf-8", errors="replace").lstrip("\ufeff\x0b").strip("\x1c"), pos
        if buf.strip():
            pos += len(buf)
            yield buf.decode("utf-8", errors="replace").strip().strip("\x1c"), pos


def _split_keep(buf: bytes) -> list[Any]:
    """Split ``buf`` at line ends into (segment, bytes consumed) pairs; the last item is the unsplit rest."""
    out: list[Any] = []
    i = 0
    n = len(buf)
    while True:
        j = min((k for k in (buf.find(b"\r", i), buf.find(b"\n", i)) if k != -1), default=-1)
        if j == -1 or (j == n - 1 and buf[j:j + 1] == b"\r"):
            # a trailing \r may be the first half of \r\n: wait for more bytes
            out.append(buf[i:])
            return out
        k = j + 1
        if buf[j:j + 1] == b"\r" and buf[k:k + 1] == b"\n":
            k += 1
        out.append((buf[i:j], k - i))
        i = k


def _in1_overrides(segments: list[str]) -> dict[str, Any]:
    for seg in segments:
        if seg.startswith("IN1"):
            f = seg.split(seg[3])
            get = lambda n, f=f: f[n] if len(f) > n else ""  # noqa: E731
            out: dict[str, Any] = {}
            member = get(36) or get(49)
            if member:
                out["patient"] = {"member_id": member.split("^")[0]}
            payer_id, payer_name = get(3).split("^")[0], get(4).split("^")[0]
            if payer_id and payer_name:
                out["payer"] = {"payer_id": payer_id, "name": payer_name}
            return out
    return {}


def read_hl7_batch(path: Path | str, start: int = 0) -> Iterator[Record]:
    """Messages of an HL7 batch file (or a plain file of concatenated messages), from byte ``start``."""
    path = Path(path)
    current: list[str] = []
    end = start
    for seg, pos in _segments(path, start):
        sid = seg[:3]
        if sid in ("FHS", "BHS", "BTS", "FTS"):
            if current:
                yield Record(str(path), end, "\r".join(current) + "\r", "hl7", _in1_overrides(current))
                current = []
            end = pos
            continue
        if sid == "MSH" and current:
            yield Record(str(path), end, "\r".join(current) + "\r", "hl7", _in1_overrides(current))
            current = []
        current.append(seg)
        end = pos
    if current:
        yield Record(str(path), end, "\r".join(current) + "\r", "hl7", _in1_overrides(current))


def read_input(path: Path | str, fmt: str, start: int = 0) -> Iterator[Record]:
    """Dispatch on ``fmt``: ``ndjson`` (a file or an ``$export`` folder) or ``hl7``."""
    path = Path(path)
    if fmt == "ndjson":
        return read_fhir_export(path, start) if path.is_dir() else read_fhir_ndjson(path, start)
    if fmt == "hl7":
        return read_hl7_batch(path, start)
    if fmt == "manifest":
        return read_manifest_records(path, start)
    raise ValueError(f"unknown bulk format {fmt!r} (ndjson, hl7 or manifest)")


def read_manifest_records(samples_dir: Path | str, start: int = 0) -> Iterator[Record]:
    """The demo's ``manifest.json`` as records; the offset is the entry's index (1-based end)."""
    samples_dir = Path(samples_dir)
    if samples_dir.is_file():
        samples_dir = samples_dir.parent
    manifest = json.loads((samples_dir / "manifest.json").read_text())
    for i, entry in enumerate(manifest["encounters"][start:], start=start):
        raw = (samples_dir / entry["file"]).read_bytes().decode("utf-8", errors="replace")
        overrides = dict(entry.get("overrides", {}))
        overrides.update({k: v for k, v in entry.get("defaults", {}).items() if k not in overrides})
        yield Record(str(samples_dir / "manifest.json"), i + 1, raw, entry.get("format", "auto"), overrides)
