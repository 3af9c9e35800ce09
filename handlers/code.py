"""Coding stage: an Encounter in, the same Encounter with suggested diagnoses out."""

from __future__ import annotations

from handlers.context import StageContext
from medcore.model import AuditAction, Encounter
from serving.pipeline.coder import Coder, CodingResult


def code(enc: Encounter, ctx: StageContext, coder: Coder) -> tuple[Encounter, CodingResult]:
    ctx.audit(AuditAction.read, "Encounter", enc.encounter_id, stage="code")
    result = coder.code(enc)
    coded = enc.model_copy(update={"diagnoses": result.codes})
    ctx.audit(AuditAction.update, "Encounter", enc.encounter_id, stage="code", code_count=str(len(result.codes)))
    return coded, result
