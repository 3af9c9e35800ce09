"""Scrub stage: a coded Encounter in, scrub findings out."""

from __future__ import annotations

from handlers.context import StageContext
from medcore.model import AuditAction, Encounter, ScrubFinding
from rules.engine import scrub as run_rules


def scrub(enc: Encounter, ctx: StageContext) -> list[ScrubFinding]:
    ctx.audit(AuditAction.read, "Encounter", enc.encounter_id, stage="scrub")
    return run_rules(enc)
