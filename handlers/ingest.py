"""Ingest stage: raw text, FHIR R4, HL7 v2 or C-CDA in, one Encounter out."""

from __future__ import annotations

from typing import Any

from handlers.context import StageContext
from medcore.ingest.detect import parse
from medcore.model import AuditAction, Encounter


def ingest(raw: str | bytes, ctx: StageContext, fmt: str = "auto", **defaults: Any) -> Encounter:
    """Parse ``raw`` and record the PHI write. Raises ``IngestError`` naming the field at fault."""
    enc = parse(raw, fmt, **defaults)
    if enc.tenant_id != ctx.tenant_id:
        enc = enc.model_copy(update={"tenant_id": ctx.tenant_id})
    ctx.audit(AuditAction.create, "Encounter", enc.encounter_id, documents=str(len(enc.notes)), format=fmt)
    return enc
