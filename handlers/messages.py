"""What travels between stages on a queue, and one step per stage over it.

The Lambda adapters (``handlers/aws``) and the bulk runner (``jobs/stream.py``) both move these
messages; the steps wrap the plain stage functions and leave the audit events buffered in the
``StageContext`` for the caller to commit once (``handlers.once``). Message bodies carry PHI (the
encounter): queues must be encrypted at rest (SQS SSE) and bodies are never logged.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from handlers.claim import build_claim
from handlers.code import code
from handlers.context import StageContext
from handlers.ingest import ingest
from handlers.scrub import scrub
from medcore.model import Claim, Encounter, ProcedureLine, ScrubFinding

Stage = Literal["ingest", "code", "scrub", "claim", "submit", "remit"]
STAGES: tuple[str, ...] = ("ingest", "code", "scrub", "claim")


class IngestMessage(BaseModel):
    """A raw document to parse. ``overrides`` win over the document (coverage from the job, say)."""

    model_config = ConfigDict(extra="forbid")
    job: str = "adhoc"
    source: str = ""
    offset: int = 0
    fmt: str = "auto"
    raw: str
    defaults: dict[str, Any] = Field(default_factory=dict)
    overrides: dict[str, Any] = Field(default_factory=dict)


class EncounterMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job: str = "adhoc"
    encounter: Encounter
    findings: list[ScrubFinding] = Field(default_factory=list)


class ClaimMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job: str = "adhoc"
    encounter_id: str
    claim_id: str
    status: str
    location: str


class Coder(Protocol):
    def code(self, enc: Encounter) -> Any: ...


class ClaimWriter(Protocol):
    """Where built claims go, keyed by encounter id, so a replay overwrites instead of adding."""

    def write(self, claim: Claim) -> str: ...


class FileClaimWriter:
    """``<root>/<encounter id>.x12``, written to a temporary file and renamed (atomic on POSIX)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def write(self, claim: Claim) -> str:
        path = self.root / f"{claim.encounter_id}.x12"
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".x12")
        with os.fdopen(fd, "w") as fh:
            fh.write(claim.x12 or "")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return str(path)


def apply_overrides(enc: Encounter, overrides: dict[str, Any]) -> Encounter:
    if not overrides:
        return enc
    data = enc.model_dump()
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **{k: v for k, v in value.items() if v is not None}}
        else:
            data[key] = value
    return Encounter.model_validate(data)


def control_number(encounter_id: str) -> int:
    """A stable ISA/GS control number per encounter, so a replayed claim is the same file."""
    return int.from_bytes(hashlib.sha256(encounter_id.encode()).digest()[:4], "big") % 999_999_999 + 1


def step_ingest(msg: IngestMessage, ctx: StageContext) -> EncounterMessage:
    enc = apply_overrides(ingest(msg.raw, ctx, msg.fmt, **msg.defaults), msg.overrides)
    return EncounterMessage(job=msg.job, encounter=enc)


def step_code(msg: EncounterMessage, ctx: StageContext, coder: Coder, fees: dict[str, float] | None = None) -> EncounterMessage:
    enc, result = code(msg.encounter, ctx, coder)
    em = (getattr(result, "em_level", None) or {}).get("code")
    if not enc.procedures and em:
        # the suggested E/M level becomes the service line, priced from the fee schedule
        enc = enc.model_copy(update={"procedures": [ProcedureLine(code=em, charge=(fees or {}).get(em, 0.0))]})
    return EncounterMessage(job=msg.job, encounter=enc)


def step_scrub(msg: EncounterMessage, ctx: StageContext) -> EncounterMessage:
    return EncounterMessage(job=msg.job, encounter=msg.encounter, findings=scrub(msg.encounter, ctx))


def step_claim(msg: EncounterMessage, ctx: StageContext, writer: ClaimWriter, validate: bool = True) -> ClaimMessage:
    enc = msg.encounter
    claim = build_claim(enc, msg.findings, ctx, control_number=control_number(enc.encounter_id), validate=validate)
    # the claim lands before its audit events are committed: a crash in between re-runs the step,
    # which rewrites the same file and then commits the events once
    location = writer.write(claim)
    return ClaimMessage(job=msg.job, encounter_id=enc.encounter_id, claim_id=claim.claim_id,
                        status=claim.status.value, location=location)


class RemitMessage(BaseModel):
    """A submitted claim waiting for its 277CA and 835."""

    model_config = ConfigDict(extra="forbid")
    job: str = "adhoc"
    encounter_id: str
    claim_id: str
    submission_id: str
