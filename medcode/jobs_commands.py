"""``medcode jobs``: bulk runs (resumable), dead-letter redrive, synthetic load files.

Register in ``medcode/cli.py`` with ``app.add_typer(jobs_app, name="jobs")``. Also runnable as
``python -m medcode.jobs_commands``. JSON goes to stdout; logs to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Bulk jobs: run, redrive, synth.", no_args_is_help=True)


def _logging() -> None:
    from handlers.aws.observability import PHIRedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(PHIRedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])


class _KnownCodes:
    """``--coder none``: no coding stage work at all (every encounter must already carry codes)."""

    def code(self, enc):  # pragma: no cover - trivial
        from types import SimpleNamespace

        return SimpleNamespace(codes=list(enc.diagnoses), em_level=None)


@app.command()
def run(
    input: Annotated[list[Path], typer.Option("--input", help="file or folder; repeatable")],
    format: Annotated[str, typer.Option("--format", help="ndjson|hl7|manifest")] = "ndjson",
    queue: Annotated[str, typer.Option("--queue", help="memory|sqs")] = "memory",
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="checkpoint file")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="output folder (claims/ under it)")] = None,
    job: Annotated[str, typer.Option("--job", help="job name (queue prefix, checkpoint default)")] = "bulk",
    batch_size: Annotated[int, typer.Option("--batch-size", help="micro-batch between checkpoints")] = 16,
    validate_every: Annotated[int, typer.Option("--validate-every", help="pyx12-validate every n-th claim; 0 none")] = 0,
    coder: Annotated[str, typer.Option("--coder", help="local|serve")] = "local",
    serve_url: Annotated[str, typer.Option("--serve-url")] = "http://127.0.0.1:8000",
    fees: Annotated[Path | None, typer.Option("--fees", help="fee schedule JSON {cpt: charge}")] = None,
    lease_s: Annotated[float, typer.Option("--lease-s", help="audit-once lease; 0 when this runner is the job's "
                                           "only worker (a pending key is then always a dead run's)")] = 0.0,
) -> None:
    """Run bulk files through ingest → code → scrub → 837P; resumes from --checkpoint after a crash."""
    _logging()
    from audit import AuditConfig, AuditLog
    from handlers.aws.code import HttpCoder
    from handlers.context import StageContext
    from handlers.once import AuditOnce
    from jobs.checkpoint import Checkpoint
    from jobs.queues import QueueSet
    from jobs.stream import StreamRunner
    from jobs.synthetic import EM_FEES
    from medcore.settings import get_settings

    settings = get_settings()
    out = out or settings.out_dir / "jobs" / job
    ckpt = Checkpoint(checkpoint or out / "checkpoint.json", job=job)
    ctx = StageContext(source="job", actor=f"job:{job}")
    once = None
    if os.environ.get("MEDCODE_AUDIT", "1") != "0":
        audit_log = AuditLog(AuditConfig.from_settings())
        audit_log.ensure_table()
        ctx.audit_sink = audit_log
        once = AuditOnce(settings=settings, lease_s=lease_s)
    if coder == "serve":
        the_coder = HttpCoder(serve_url)
    else:
        from serving.pipeline.coder import Coder

        the_coder = Coder()
    fee_table = json.loads(fees.read_text()) if fees else dict(EM_FEES)
    runner = StreamRunner(ctx, the_coder, out, queues=QueueSet.create(queue, prefix=f"medcode-{job}"), once=once,
                          fees=fee_table, job=job, batch_size=batch_size, validate_every=validate_every)
    report = runner.run([(p, format) for p in input], ckpt)
    typer.echo(json.dumps(report.to_dict()))


@app.command()
def redrive(
    stage: Annotated[str, typer.Option("--stage", help="ingest|code|scrub|claim")],
    job: Annotated[str, typer.Option("--job")] = "bulk",
    limit: Annotated[int | None, typer.Option("--limit")] = None,
) -> None:
    """Move a stage's dead letters (SQS) back onto its queue."""
    _logging()
    from jobs.queues import SqsQueue
    from jobs.queues import redrive as do_redrive

    moved = do_redrive(SqsQueue(f"medcode-{job}-{stage}"), limit=limit)
    typer.echo(json.dumps({"stage": stage, "job": job, "moved": moved}))


@app.command()
def synth(
    n: Annotated[int, typer.Option("--n", help="encounters")],
    out: Annotated[Path, typer.Option("--out", help="NDJSON file (or .hl7 for an HL7 batch)")],
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Write n synthetic, fictional encounters as FHIR Bulk NDJSON (or an HL7 batch for *.hl7)."""
    from jobs.synthetic import generate, to_hl7, write_ndjson

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".hl7":
        with open(out, "w", encoding="utf-8", newline="") as fh:
            fh.write("FHS|^~\\&|SYNEHR|SYNCLINIC|MEDCODE|MEDCODE\rBHS|^~\\&|SYNEHR|SYNCLINIC|MEDCODE|MEDCODE\r")
            for s in generate(n, seed):
                fh.write(to_hl7(s))
            fh.write(f"BTS|{n}\rFTS|1\r")
        typer.echo(json.dumps({"out": str(out), "encounters": n, "format": "hl7"}))
        return
    lines = write_ndjson(out, n, seed)
    typer.echo(json.dumps({"out": str(out), "encounters": n, "lines": lines, "format": "ndjson"}))


if __name__ == "__main__":
    app()
