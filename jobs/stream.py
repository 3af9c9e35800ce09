"""The bulk runner: bulk files → ingest → code → scrub → claim over stage queues, resumable.

How a crash (even SIGKILL) at any instant is survived without a second claim or audit event:

- the input is read from the checkpoint's byte offset, in micro-batches of ``batch_size``;
- every stage message is handled as *run the step → commit its audit events once → send the next
  message → ack*; audit commits go through :class:`handlers.once.AuditOnce` keyed by
  ``<encounter id>#<stage>``, so re-running a step never appends its events twice;
- claims are written atomically under their encounter id (a re-run overwrites the same file) and
  before the claim stage's audit commit;
- the checkpoint moves past a micro-batch only once every stage has drained it.

So after a crash the restarted runner re-reads at most one micro-batch; the steps it repeats find
their audit keys done and their claim files already there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from handlers.context import StageContext
from handlers.messages import (
    STAGES,
    ClaimWriter,
    EncounterMessage,
    FileClaimWriter,
    IngestMessage,
    step_claim,
    step_code,
    step_ingest,
    step_scrub,
)
from handlers.once import AuditOnce, StageInProgress
from jobs.bulk import Record, read_input
from jobs.checkpoint import Checkpoint
from jobs.queues import Backpressure, Message, QueueSet
from medcore.errors import MedcodeError

log = logging.getLogger(__name__)

__all__ = ["JobReport", "StreamRunner", "run_job"]


@dataclass
class JobReport:
    job: str
    read: int = 0
    ingested: int = 0
    coded: int = 0
    claims: int = 0
    no_claim: int = 0
    failures: int = 0
    audit_appended: int = 0
    audit_duplicates: int = 0
    audit_recovered: int = 0
    dead_letters: int = 0
    resumed_from: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for r in records:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class StreamRunner:
    """Drives the stage queues in one process. Stage consumers on Lambda use the same steps.

    Parameters
    ----------
    ctx : StageContext
        Its ``audit_sink`` receives the events (through ``once`` when given).
    coder : object with ``code(Encounter)``
    out_dir : Path
        Claims go to ``out_dir/claims/<encounter id>.x12``.
    queues : QueueSet
        One queue per stage (``memory`` by default).
    once : AuditOnce, optional
        The exactly-once ledger. Without it events are flushed directly (no dedup on replay).
    validate_every : int
        pyx12-validate every n-th claim (0: none, 1: all). Validation costs ~0.7 s a claim.
    """

    def __init__(self, ctx: StageContext, coder: Any, out_dir: Path, queues: QueueSet | None = None,
                 once: AuditOnce | None = None, fees: dict[str, float] | None = None, job: str = "job",
                 batch_size: int = 16, validate_every: int = 0, writer: ClaimWriter | None = None,
                 backpressure: Backpressure | None = None, on_claim: Callable[[str], None] | None = None):
        self.ctx, self.coder, self.once, self.fees, self.job = ctx, coder, once, fees or {}, job
        self.queues = queues if queues is not None else QueueSet.create("memory", prefix=f"medcode-{job}")
        self.writer = writer or FileClaimWriter(Path(out_dir) / "claims")
        self.batch_size = batch_size
        self.validate_every = validate_every
        self.backpressure = backpressure or Backpressure(max_in_flight=max(4 * batch_size, 64))
        self.on_claim = on_claim
        self.report = JobReport(job)
        self._claim_n = 0

    # -- one message -------------------------------------------------------------------------------
    def _commit(self, key: str) -> None:
        events, self.ctx.pending = self.ctx.pending, []
        if self.once is None:
            if events and self.ctx.audit_sink is not None:
                self.ctx.audit_sink.append_many(events)
            self.report.audit_appended += len(events)
            return
        result = self.once.commit(key, events, self.ctx.audit_sink)
        self.report.audit_appended += result.appended
        self.report.audit_duplicates += result.state == "duplicate"
        self.report.audit_recovered += result.state == "recovered"

    def handle(self, stage: str, message: Message) -> None:
        queue = self.queues[stage]
        self.ctx.pending = []
        try:
            nxt: str | None = None
            if stage == "ingest":
                out = step_ingest(IngestMessage.model_validate_json(message.body), self.ctx)
                self.report.ingested += 1
            else:
                msg = EncounterMessage.model_validate_json(message.body)
                if stage == "code":
                    out = step_code(msg, self.ctx, self.coder, self.fees)
                    self.report.coded += 1
                elif stage == "scrub":
                    out = step_scrub(msg, self.ctx)
                elif not (msg.encounter.diagnoses and msg.encounter.procedures):
                    self.report.no_claim += 1
                    queue.ack(message)
                    return
                else:
                    self._claim_n += 1
                    validate = self.validate_every > 0 and self._claim_n % self.validate_every == 0
                    done = step_claim(msg, self.ctx, self.writer, validate=validate)
                    self._commit(f"{done.encounter_id}#claim")
                    self.report.claims += 1
                    queue.ack(message)
                    if self.on_claim:
                        self.on_claim(done.encounter_id)
                    return
            self._commit(f"{out.encounter.encounter_id}#{stage}")
            nxt = STAGES[STAGES.index(stage) + 1]
            self.queues[nxt].send(out.model_dump_json())
            queue.ack(message)
        except (MedcodeError, ValidationError) as exc:
            self.ctx.pending = []
            self.report.failures += 1
            # no PHI: the error type and the field it names, never the value
            log.warning("stage %s failed (%s); message %s returned to its queue", stage, type(exc).__name__, message.id)
            queue.nack(message)
        except StageInProgress:
            self.ctx.pending = []
            queue.nack(message)

    # -- the loop ----------------------------------------------------------------------------------
    def drain(self) -> None:
        """Run every stage until a full pass finds nothing visible (dead letters stay in their DLQs)."""
        while True:
            got = 0
            for stage in STAGES:
                queue = self.queues[stage]
                while batch := queue.receive(10):
                    got += len(batch)
                    for m in batch:
                        self.handle(stage, m)
            if got == 0:
                return

    def run(self, inputs: list[tuple[Path, str]], checkpoint: Checkpoint,
            defaults: dict[str, Any] | None = None, limit: int | None = None) -> JobReport:
        t0 = time.perf_counter()
        for path, fmt in inputs:
            path = Path(path)
            if fmt == "manifest":
                source = str((path.parent if path.is_file() else path) / "manifest.json")
            elif fmt == "ndjson" and path.is_dir():
                source = str(path / "DocumentReference.ndjson")
            else:
                source = str(path)
            start = checkpoint.offset(source)
            self.report.resumed_from[source] = start
            for batch in _batches(read_input(path, fmt, start), self.batch_size):
                self.backpressure.wait(self.queues)
                self.queues["ingest"].send_many(
                    IngestMessage(job=self.job, source=r.source, offset=r.end, fmt=r.fmt, raw=r.raw,
                                  defaults=defaults or {}, overrides=r.overrides).model_dump_json()
                    for r in batch
                )
                self.report.read += len(batch)
                self.drain()
                checkpoint.commit(source, batch[-1].end, done=len(batch))
                if limit is not None and self.report.read >= limit:
                    break
        self.report.dead_letters = sum(q.dlq.depth() for q in self.queues.values() if q.dlq is not None)
        self.report.seconds = round(time.perf_counter() - t0, 3)
        return self.report


def run_job(inputs: list[tuple[Path, str]], ctx: StageContext, coder: Any, out_dir: Path, checkpoint: Checkpoint,
            **options: Any) -> JobReport:
    """Convenience: ``StreamRunner(ctx, coder, out_dir, **options).run(inputs, checkpoint)``."""
    defaults = options.pop("defaults", None)
    return StreamRunner(ctx, coder, out_dir, **options).run(inputs, checkpoint, defaults=defaults)
