"""Encounters at rest: PHI fields envelope-encrypted, everything else plain JSON, one file each.

Layout: ``<root>/<tenant>/<encounter_id>.json`` (root defaults to ``settings.var_dir/"encounters"``).
A file looks like::

    {"format": "medcode.encounter/1", "tenant_id": "...", "encounter_id": "...",
     "encounter": {... "patient": {"name": {"alg": "AES-256-GCM", "kid": ..., "edk": ..., "iv": ..., "ct": ...}, ...}}}

The encrypted fields are :data:`PHI_PATHS`. Each one's associated data is the format, tenant,
encounter id and field path, so an envelope copied into another field or another encounter does
not open. Reads require a :class:`~medcore.access.Principal` of the encounter's tenant.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from medcore.access import Action, Principal, authorize
from medcore.errors import MedcodeError
from medcore.model import AuditAction, AuditEvent, Encounter
from medcore.settings import Settings, get_settings

from .envelope import Envelope, EnvelopeCipher, default_cipher

FORMAT = "medcode.encounter/1"

#: Encounter fields holding PHI, as dotted paths with ``[]`` for every list element.
#: ``patient_id`` (an MRN) and code ``explanation`` (it quotes the matched note text) are
#: encrypted too, beyond the fields named in the issue.
PHI_PATHS: tuple[str, ...] = (
    "patient.name",
    "patient.birth_date",
    "patient.member_id",
    "patient.patient_id",
    "notes[].text",
    "diagnoses[].evidence[].text",
    "diagnoses[].explanation",
)

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class EncounterNotFound(MedcodeError):
    """No stored encounter with that id for that tenant (the message names the id only)."""


class AuditSink(Protocol):
    def append_many(self, events: list[AuditEvent]) -> object: ...


def _component(value: str) -> str:
    # ids become file names: anything outside a plain charset is hex-encoded, never a path
    return value if _SAFE.match(value) else "x-" + value.encode().hex()


def _walk(node: Any, parts: list[str], path: str, fn: Callable[[Any, str], Any]) -> Any:
    """Apply ``fn(value, concrete_path)`` at every location ``parts`` names; returns the new node."""
    if not parts:
        return fn(node, path) if node is not None else None
    head, rest = parts[0], parts[1:]
    is_list = head.endswith("[]")
    name = head[:-2] if is_list else head
    if not isinstance(node, dict) or node.get(name) is None:
        return node
    out = dict(node)
    if is_list:
        out[name] = [
            _walk(elem, rest, f"{path}{name}[{i}].", fn) if rest else fn(elem, f"{path}{name}[{i}]")
            for i, elem in enumerate(node[name])
        ]
    else:
        out[name] = _walk(node[name], rest, f"{path}{name}.", fn) if rest else fn(node[name], f"{path}{name}")
    return out


def _at_phi(data: dict[str, Any], fn: Callable[[Any, str], Any]) -> dict[str, Any]:
    for spec in PHI_PATHS:
        data = _walk(data, spec.split("."), "", fn)
    return data


class EncounterStore:
    """Persist encounters with their PHI encrypted.

    Parameters
    ----------
    root : Path, optional
        Defaults to ``settings.var_dir / "encounters"``.
    cipher : EnvelopeCipher, optional
        Defaults to :func:`~medcore.phi.envelope.default_cipher` (KMS via moto locally).
    audit_sink : object with ``append_many(events)``, optional
        When given (an ``audit.AuditLog``), every put and get is logged (ids only, no PHI).
    settings : Settings, optional
    """

    def __init__(
        self,
        root: Path | None = None,
        cipher: EnvelopeCipher | None = None,
        audit_sink: AuditSink | None = None,
        settings: Settings | None = None,
    ):
        s = settings or get_settings()
        self.root = Path(root) if root is not None else Path(s.var_dir) / "encounters"
        self._cipher = cipher
        self._settings = s
        self.audit_sink = audit_sink

    @property
    def cipher(self) -> EnvelopeCipher:
        if self._cipher is None:
            self._cipher = default_cipher(self._settings)
        return self._cipher

    def path(self, tenant_id: str, encounter_id: str) -> Path:
        return self.root / _component(tenant_id) / f"{_component(encounter_id)}.json"

    @staticmethod
    def _aad(tenant_id: str, encounter_id: str, field: str) -> bytes:
        return json.dumps([FORMAT, tenant_id, encounter_id, field], separators=(",", ":")).encode()

    # writing ----------------------------------------------------------------------------------
    def put(self, encounter: Encounter, principal: Principal | None = None) -> Path:
        """Store ``encounter`` (replacing any earlier version), PHI fields encrypted.

        Parameters
        ----------
        encounter : Encounter
        principal : Principal, optional
            Checked for ``encounter:write`` on the encounter's tenant when given. ``None`` is the
            trusted in-process writer (the runner that ingested it).

        Returns
        -------
        Path
            The file written.
        """
        tenant, eid = encounter.tenant_id, encounter.encounter_id
        if principal is not None:
            authorize(principal, Action.encounter_write, tenant)
        data = encounter.model_dump(mode="json")

        def seal(value: Any, field: str) -> dict[str, str]:
            plain = json.dumps(value, ensure_ascii=False)  # keeps the JSON type (dates as strings)
            return self.cipher.encrypt(plain, self._aad(tenant, eid, field)).to_dict()

        doc = {"format": FORMAT, "tenant_id": tenant, "encounter_id": eid, "encounter": _at_phi(data, seal)}
        path = self.path(tenant, eid)
        self._write(path, json.dumps(doc, ensure_ascii=False, indent=1).encode())
        self._audit(AuditAction.create, tenant, eid, principal)
        return path

    @staticmethod
    def _write(path: Path, body: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)  # readers see the old file or the new one, never half of one
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # reading ----------------------------------------------------------------------------------
    def get(self, tenant_id: str, encounter_id: str, principal: Principal) -> Encounter:
        """Read and decrypt one encounter.

        Raises
        ------
        AccessDenied
            ``principal`` may not read encounters, or belongs to another tenant.
        EncounterNotFound
        DecryptError
            A PHI field does not open (tampered, moved, or its key is gone).
        """
        authorize(principal, Action.encounter_read, tenant_id)
        doc = self._load(tenant_id, encounter_id)
        if doc.get("tenant_id") != tenant_id or doc.get("encounter_id") != encounter_id:
            raise EncounterNotFound(f"encounter {encounter_id!r}: stored record names another owner")

        def open_(value: Any, field: str) -> Any:
            if not Envelope.is_envelope(value):
                raise EncounterNotFound(f"encounter {encounter_id!r}: {field} is not encrypted")
            return json.loads(self.cipher.decrypt(value, self._aad(tenant_id, encounter_id, field)))

        enc = Encounter.model_validate(_at_phi(doc["encounter"], open_))
        self._audit(AuditAction.read, tenant_id, encounter_id, principal)
        return enc

    def _load(self, tenant_id: str, encounter_id: str) -> dict[str, Any]:
        path = self.path(tenant_id, encounter_id)
        try:
            doc = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise EncounterNotFound(f"encounter {encounter_id!r} not found") from None
        if doc.get("format") != FORMAT:
            raise EncounterNotFound(f"encounter {encounter_id!r}: unknown format {doc.get('format')!r}")
        return doc

    def ids(self, tenant_id: str, principal: Principal) -> list[str]:
        """The encounter ids stored for ``tenant_id``."""
        authorize(principal, Action.encounter_read, tenant_id)
        folder = self.root / _component(tenant_id)
        out = []
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                out.append(json.loads(path.read_bytes())["encounter_id"])
            except (ValueError, KeyError):
                continue
        return out

    # rotation ---------------------------------------------------------------------------------
    def rotate(self, tenant_id: str, encounter_id: str, principal: Principal | None = None) -> Path:
        """Re-encrypt one encounter's PHI under fresh data keys of the cipher's current master key.

        Old envelopes stay readable until rotated; after it the file holds no data key wrapped
        by the old master key.
        """
        if principal is not None:
            authorize(principal, Action.encounter_write, tenant_id)
        doc = self._load(tenant_id, encounter_id)
        self.cipher.clear_cache()  # never reuse a data key minted before the rotation

        def reseal(value: Any, field: str) -> Any:
            return self.cipher.rotate(value, self._aad(tenant_id, encounter_id, field)).to_dict()

        doc["encounter"] = _at_phi(doc["encounter"], reseal)
        path = self.path(tenant_id, encounter_id)
        self._write(path, json.dumps(doc, ensure_ascii=False, indent=1).encode())
        self._audit(AuditAction.update, tenant_id, encounter_id, principal, reason="key-rotation")
        return path

    def key_ids(self, tenant_id: str, encounter_id: str) -> set[str]:
        """The master keys the stored envelopes name (to see what a rotation left behind)."""
        found: set[str] = set()

        def note(value: Any, _field: str) -> Any:
            if Envelope.is_envelope(value):
                found.add(value["kid"])
            return value

        _at_phi(self._load(tenant_id, encounter_id)["encounter"], note)
        return found

    def iter_files(self) -> Iterator[Path]:
        yield from sorted(self.root.rglob("*.json")) if self.root.is_dir() else []

    def _audit(
        self, action: AuditAction, tenant: str, eid: str, principal: Principal | None, **detail: str
    ) -> None:
        if self.audit_sink is None:
            return
        self.audit_sink.append_many([
            AuditEvent(
                tenant_id=tenant,
                actor=principal.actor if principal else "system:encounter-store",
                action=action,
                resource_type="Encounter",
                resource_id=eid,
                source="encounter-store",
                detail={"role": principal.role.value if principal else "system", **detail},
            )
        ])
