"""The embedded runner: streams encounters through ingest → code → scrub → 837P → audit in-process.

It is the default backend for ``medcode demo`` and for small batches. The queue is a generator, the
stages are the handler functions, and audit events are flushed once per encounter as one batch.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from claims.clearinghouse import Clearinghouse
from claims.submission import ClaimOutcome, SubmissionOutcome, submit_and_reconcile
from claims.x837p.build import build_837p
from handlers.claim import build_claim
from handlers.code import code
from handlers.context import StageContext
from handlers.ingest import ingest
from handlers.scrub import scrub
from medcore.errors import MedcodeError
from medcore.model import AuditAction, Claim, ClaimStatus, Encounter, ProcedureLine, ScrubFinding
from medcore.phi.store import EncounterStore
from serving.pipeline.coder import Coder, CodingResult

log = logging.getLogger(__name__)


@dataclass
class WorkItem:
    """One raw input and what the runner knows about it besides its content."""

    name: str
    raw: str | bytes
    fmt: str = "auto"
    defaults: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    name: str
    encounter: Encounter | None = None
    coding: CodingResult | None = None
    findings: list[ScrubFinding] = field(default_factory=list)
    claim: Claim | None = None
    claim_file: Path | None = None
    stored_at: Path | None = None
    submission: ClaimOutcome | None = None
    error: str | None = None


def read_manifest(samples_dir: Path) -> Iterator[WorkItem]:
    """Work items from ``manifest.json`` in a samples folder (paths relative to it)."""
    manifest = json.loads((samples_dir / "manifest.json").read_text())
    for entry in manifest["encounters"]:
        path = samples_dir / entry["file"]
        overrides = dict(entry.get("overrides", {}))
        if "date_of_service" in overrides:
            overrides["date_of_service"] = date.fromisoformat(overrides["date_of_service"])
        yield WorkItem(
            name=entry["file"], raw=path.read_bytes(), fmt=entry.get("format", "auto"),
            defaults=entry.get("defaults", {}), overrides=overrides,
        )


def _apply(enc: Encounter, overrides: dict[str, Any]) -> Encounter:
    if not overrides:
        return enc
    data = enc.model_dump()
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return Encounter.model_validate(data)


def run(
    items: Iterable[WorkItem],
    ctx: StageContext,
    coder: Coder,
    out_dir: Path,
    on_done: Callable[[Outcome], None] | None = None,
    fees: dict[str, float] | None = None,
    store: EncounterStore | None = None,
) -> list[Outcome]:
    """Run every item through every stage; one item's failure is recorded and never stops the rest.

    Coded encounters go to ``store`` (PHI fields encrypted at rest); claims and the summary go to
    ``out_dir``.
    """
    (out_dir / "claims").mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    fees = fees or {}
    for n, item in enumerate(items, start=1):
        oc = Outcome(item.name)
        try:
            enc = _apply(ingest(item.raw, ctx, item.fmt, **item.defaults), item.overrides)
            oc.encounter = enc
            enc, oc.coding = code(enc, ctx, coder)
            em = (oc.coding.em_level or {}).get("code")
            if not enc.procedures and em:
                # the suggested E/M level becomes the service line, priced from the fee schedule
                line = ProcedureLine(code=em, charge=fees.get(em, 0.0), dx_pointers=[1])
                enc = enc.model_copy(update={"procedures": [line]})
            oc.encounter = enc
            oc.findings = scrub(enc, ctx)
            if store is not None:
                oc.stored_at = store.put(enc)
            if enc.diagnoses and enc.procedures:
                oc.claim = build_claim(enc, oc.findings, ctx, control_number=n)
                oc.claim_file = out_dir / "claims" / f"{enc.encounter_id}.x12"
                oc.claim_file.write_text(oc.claim.x12 or "")
            else:
                oc.error = "no claim: the encounter has no coded diagnosis or no service line"
        except MedcodeError as exc:
            oc.error = f"{type(exc).__name__}: {exc}"
            log.warning("encounter failed", extra={"item": item.name, "error": type(exc).__name__})
        finally:
            ctx.flush()
        outcomes.append(oc)
        if on_done:
            on_done(oc)
    return outcomes


def submit(outcomes: list[Outcome], ctx: StageContext, client: Clearinghouse, out_dir: Path,
           timeout_s: float = 30.0) -> SubmissionOutcome | None:
    """Send every released claim (built, no scrub error) in one interchange, as a clearinghouse batch,
    and reconcile the 999, 277CA and 835 that come back. Held claims stay home for review."""
    pairs = [(o.encounter, o.claim) for o in outcomes
             if o.claim is not None and o.encounter is not None and o.claim.status is ClaimStatus.built]
    if not pairs:
        return None
    batch = build_837p(pairs, settings=ctx.settings, control_number=9000)
    (out_dir / "claims" / "batch.x12").write_text(batch)
    result = submit_and_reconcile(client, batch, timeout_s=timeout_s)
    by_id = {c.claim_id: c for c in result.claims}
    for o in outcomes:
        if o.claim is not None and o.claim.claim_id in by_id:
            o.submission = by_id[o.claim.claim_id]
            ctx.audit(AuditAction.submit, "Claim", o.claim.claim_id, ack_277ca=o.submission.ack_277ca,
                      remit=o.submission.remit)
    ctx.flush()
    return result
