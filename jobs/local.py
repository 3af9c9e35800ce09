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

from claims.x837p.build import build_837p
from handlers.claim import build_claim
from handlers.code import code
from handlers.context import StageContext
from handlers.ingest import ingest
from handlers.scrub import scrub
from medcore.errors import MedcodeError
from medcore.model import Claim, Encounter, ProcedureLine, ScrubFinding
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
) -> list[Outcome]:
    """Run every item through every stage; one item's failure is recorded and never stops the rest."""
    (out_dir / "encounters").mkdir(parents=True, exist_ok=True)
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
            (out_dir / "encounters" / f"{enc.encounter_id}.json").write_text(enc.model_dump_json(indent=2))
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
    # every built claim also goes out in one interchange, as a clearinghouse batch would
    pairs = [(o.encounter, o.claim) for o in outcomes if o.claim is not None and o.encounter is not None]
    if pairs:
        (out_dir / "claims" / "batch.x12").write_text(build_837p(pairs, settings=ctx.settings, control_number=9000))
    return outcomes
