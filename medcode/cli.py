"""The ``medcode`` command line. It drives the layers below; nothing imports it.

``--json`` output goes to stdout alone; logs and progress go to stderr. Bad input exits 2 with a
message naming the field at fault; it never prints note text or other PHI.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from medcode import audit_commands as _audit_commands
from medcode import claims_commands as _claims_commands
from medcode import jobs_commands as _jobs_commands
from medcode import rules_commands as _rules_commands
from medcode import serve_commands as _serve_commands
from medcode import train_commands as _train_commands

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(add_completion=False, no_args_is_help=True, help="medcode: AI medical coding, scrubbing and claims.")
eval_app = typer.Typer(no_args_is_help=True, help="Score the coder and assertion detection.")
claim_app = typer.Typer(no_args_is_help=True, help="Build and validate X12 837P claims.")
index_app = typer.Typer(no_args_is_help=True, help="Retrieval indexes.")
app.add_typer(eval_app, name="eval")
app.add_typer(claim_app, name="claim")
app.add_typer(_audit_commands.app, name="audit")
app.add_typer(_rules_commands.app, name="rules")
app.add_typer(_claims_commands.remit_app, name="remit")
app.add_typer(_jobs_commands.app, name="jobs")
app.add_typer(_serve_commands.keys_app, name="keys")
app.add_typer(_train_commands.app, name="train")
app.command("serve")(_serve_commands.serve)
app.command("render-rayservice")(_serve_commands.render_rayservice)
# `medcode claim submit` and `medcode claim train-denials` live beside build and validate
claim_app.registered_commands += _claims_commands.app.registered_commands
app.add_typer(index_app, name="index")

err = Console(stderr=True, soft_wrap=True)
ROOT = Path(__file__).resolve().parent.parent


def _logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _read(path: Path) -> bytes:
    if not path.is_file():
        _fail(f"{path}: no such file")
    return path.read_bytes()


def _load_encounter(path: Path):
    from pydantic import ValidationError

    from medcore.model import Encounter

    try:
        return Encounter.model_validate_json(_read(path))
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) + f" ({e['msg']})" for e in exc.errors()[:5])
        _fail(f"{path}: invalid Encounter: {fields}")


def _audit_ctx(source: str):
    from handlers.context import StageContext

    ctx = StageContext(source=source, actor=f"cli:{os.environ.get('USER', 'user')}")
    if os.environ.get("MEDCODE_AUDIT", "1") != "0":
        try:
            from audit.chain import AuditLog
            from audit.config import AuditConfig

            log = AuditLog(AuditConfig.from_settings())
            log.ensure_table()
            ctx.audit_sink = log
        except Exception as exc:  # the CLI still codes without the audit store, and says so
            err.print(f"[yellow]warning:[/yellow] audit log unavailable ({type(exc).__name__}); "
                      "start it with `make services-up` or set MEDCODE_AUDIT=0")
    return ctx


@app.command()
def code(
    file: Path,
    format: Annotated[str, typer.Option("--format", help="auto|text|fhir|hl7|ccda")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
    dos: Annotated[str | None, typer.Option(help="date of service (YYYY-MM-DD) when the input has none")] = None,
    setting: Annotated[str | None, typer.Option(help="office|telehealth|ed|inpatient|radiology")] = None,
    llm: Annotated[Path | None, typer.Option("--llm", help="local model folder for the LLM stage "
                                             "(default MEDCODE_LLM_MODEL_PATH; docs/LLM.md)")] = None,
) -> None:
    """Code one encounter."""
    _logging()
    from handlers.code import code as code_stage
    from handlers.ingest import ingest
    from medcore.errors import CodeSetUnavailable, MedcodeError
    from serving.pipeline.coder import Coder

    if format not in ("auto", "text", "fhir", "hl7", "ccda"):
        _fail(f"--format must be auto, text, fhir, hl7 or ccda (got {format!r})")
    defaults = {}
    if dos:
        try:
            defaults["date_of_service"] = date.fromisoformat(dos)
        except ValueError:
            _fail("--dos must be YYYY-MM-DD")
    ctx = _audit_ctx("cli")
    try:
        enc = ingest(_read(file), ctx, format, **defaults)
        if setting:
            enc = enc.model_copy(update={"setting": setting})
        if not enc.notes:
            _fail(f"{file}: the input holds no note text to code")
        with _local_llm(llm) as local:
            _, result = code_stage(enc, ctx, Coder(llm=local.stage()))
    except CodeSetUnavailable as exc:
        _fail(f"{exc}. The date of service comes from the input when it has one, else from --dos "
              "YYYY-MM-DD, else today; a year not shipped needs its release files (docs/ARCHITECTURE.md, "
              "medcore/data/icd10cm/releases.json)")
    except MedcodeError as exc:
        _fail(str(exc))
    finally:
        ctx.flush()
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        return
    table = Table(title=f"encounter {result.encounter_id} ({result.code_set})")
    for col in ("rank", "code", "description", "confidence", "evidence"):
        table.add_column(col)
    for c in result.codes:
        table.add_row(str(c.rank), c.code, c.description, f"{c.confidence:.2f}",
                      "; ".join(f"[{e.start}:{e.end}]" for e in c.evidence))
    Console().print(table)
    if result.em_level:
        Console().print(f"E/M: {result.em_level.get('code')} ({result.em_level.get('basis')})")


@eval_app.command("notes")
def eval_notes(
    cases: Annotated[Path, typer.Option("--cases", help="folder of *.json cases")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    predictions: Annotated[Path | None, typer.Option("--predictions", help="write one JSON line per case")] = None,
    dense: Annotated[bool | None, typer.Option("--dense/--no-dense",
                                               help="dense retrieval (default: MEDCODE_DENSE_ENABLED)")] = None,
    llm: Annotated[Path | None, typer.Option("--llm", help="local model folder: score with and without the LLM "
                                             "stage (default MEDCODE_LLM_MODEL_PATH)")] = None,
) -> None:
    """Code every case in a folder and score it (GUIDE.md section 3)."""
    _logging()
    from serving.evaluation.notes import run
    from serving.pipeline.coder import Coder

    if not cases.is_dir():
        _fail(f"--cases {cases}: not a folder")
    try:
        with _local_llm(llm) as local:
            report = run(cases, Coder(dense=dense), predictions, llm=local.stage() if local.config else None)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        _fail(f"{cases}: {exc}")
    _emit(report, as_json)


@eval_app.command("assertion")
def eval_assertion(
    file: Annotated[Path, typer.Option("--file", help="ConText-format TSV")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    predictions: Annotated[Path | None, typer.Option("--predictions")] = None,
) -> None:
    """Score assertion detection on the ConText-format TSV."""
    _logging()
    from serving.evaluation.assertion import run

    if not file.is_file():
        _fail(f"--file {file}: no such file")
    try:
        report = run(file, predictions)
    except (KeyError, ValueError) as exc:
        _fail(str(exc))
    _emit(report, as_json)


def _local_llm(model_path: Path | None):
    """The in-process LLM (vLLM) when a model is given or configured; warns, never fails, when it is broken."""
    from serving.llm import LlmConfig, LocalLlm

    local = LocalLlm(LlmConfig.from_settings(model_path=model_path))
    if local.error:
        err.print(f"[yellow]warning:[/yellow] LLM stage unavailable ({local.error}); ranker-only results")
    return local


def _emit(report: dict, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    table = Table()
    table.add_column("metric")
    table.add_column("value")
    for k, v in report.items():
        table.add_row(k, json.dumps(v))
    Console().print(table)


@app.command()
def scrub(
    encounter: Path,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Scrub a coded encounter against the claim rules."""
    _logging()
    from handlers.scrub import scrub as scrub_stage

    enc = _load_encounter(encounter)
    ctx = _audit_ctx("cli")
    try:
        findings = scrub_stage(enc, ctx)
    finally:
        ctx.flush()
    if as_json:
        sys.stdout.write(json.dumps([f.model_dump(mode="json") for f in findings], indent=2) + "\n")
        return
    table = Table(title=f"{len(findings)} finding(s)")
    for col in ("rule", "severity", "codes", "message", "fix"):
        table.add_column(col)
    for f in findings:
        table.add_row(f.rule_id, f.severity.value, ", ".join(f.codes), f.message, f.fix)
    Console().print(table)
    raise typer.Exit(1 if any(f.severity.value == "error" for f in findings) else 0)


@claim_app.command("build")
def claim_build(
    encounter: Path,
    out: Annotated[Path, typer.Option("--out", help="where to write the 837P")],
) -> None:
    """Write an 837P (005010X222A1) for a coded encounter and validate it with pyx12."""
    _logging()
    from claims.x837p.build import build_837p, claim_from_encounter
    from claims.x837p.validate import validate_837p
    from medcore.errors import MedcodeError
    from medcore.model import AuditAction

    enc = _load_encounter(encounter)
    ctx = _audit_ctx("cli")
    try:
        claim = claim_from_encounter(enc)
        x12 = build_837p([(enc, claim)])
        ctx.audit(AuditAction.create, "Claim", claim.claim_id, encounter=enc.encounter_id)
    except MedcodeError as exc:
        _fail(str(exc))
    finally:
        ctx.flush()
    report = validate_837p(x12)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(x12)
    if not report.valid:
        _fail(f"{out}: written, but it does not validate: " + "; ".join(report.errors[:5]), code=1)
    err.print(f"wrote {out} (valid 837P, claim {claim.claim_id})")


@claim_app.command("validate")
def claim_validate(file: Path) -> None:
    """Validate an 837P with pyx12; exit 0 only when it is valid."""
    _logging()
    from claims.x837p.validate import validate_837p

    report = validate_837p(_read(file).decode("utf-8", errors="replace"))
    if report.valid:
        err.print(f"{file}: valid")
        return
    for e in report.errors:
        err.print(f"  {e}")
    _fail(f"{file}: invalid ({len(report.errors)} error(s))", code=1)


@index_app.command("build")
def index_build(dense: Annotated[bool | None, typer.Option("--dense/--no-dense")] = None) -> None:
    """Build (or load) the retrieval indexes for the newest code set."""
    _logging(verbose=True)
    from medcore.refdata.releases import latest_codeset
    from serving.pipeline.coder import Coder

    cs = latest_codeset()
    r = Coder(dense=dense).retriever(cs)
    err.print(f"{cs.release}: BM25 over {len(r.bm25.docs)} documents" + (
        f", dense over {len(r.dense.codes)} codes" if r.dense is not None else ""))


@app.command()
def schemas(out: Annotated[Path, typer.Option("--out")] = ROOT / "docs" / "schemas") -> None:
    """Export the domain model's JSON Schemas."""
    from medcore.model import DOMAIN_MODELS

    out.mkdir(parents=True, exist_ok=True)
    for model in DOMAIN_MODELS:
        (out / f"{model.__name__}.schema.json").write_text(json.dumps(model.model_json_schema(), indent=2) + "\n")
    err.print(f"wrote {len(DOMAIN_MODELS)} schemas to {out}")


@app.command()
def demo(
    samples: Annotated[Path, typer.Option(help="folder with manifest.json")] = ROOT / "samples",
    out: Annotated[Path, typer.Option(help="output folder")] = ROOT / "out",
) -> None:
    """Run the embedded end-to-end job on the bundled sample encounters."""
    _logging()
    from rich.progress import Progress

    from claims.clearinghouse import ClearinghouseConfig, HttpClearinghouse
    from claims.simulator import load_rules, running_simulator
    from jobs.local import read_manifest, run, submit
    from medcore.phi.store import EncounterStore
    from serving.pipeline.coder import Coder

    items = list(read_manifest(samples))
    store = EncounterStore()
    try:
        store.cipher  # noqa: B018 - creates or finds the KMS key now, not midway through the run
    except Exception as exc:
        os.environ["MEDCODE_PHI_KEYS"] = "local"
        store = EncounterStore()
        err.print(f"[yellow]warning:[/yellow] KMS unavailable ({type(exc).__name__}); encrypting with a local "
                  "key under var/keys (start moto with `make services-up` for KMS)")
    fees = json.loads((samples / "fee_schedule.json").read_text()) if (samples / "fee_schedule.json").exists() else {}
    ctx = _audit_ctx("demo")
    err.print("loading the code set and retrieval indexes (built once, then cached under var/)...")
    coder = Coder()
    with Progress(console=err, transient=False) as progress:
        task = progress.add_task("ingest → code → scrub → 837P → audit", total=len(items))
        outcomes = run(items, ctx, coder, out, on_done=lambda _o: progress.advance(task), fees=fees, store=store)
    # the embedded clearinghouse: a real HTTP server on loopback that answers 999, 277CA and 835
    with running_simulator(rules=load_rules().without_noise()) as url, \
            HttpClearinghouse(ClearinghouseConfig(base_url=url)) as client:
        batch = submit(outcomes, ctx, client, out, timeout_s=30)
    if batch is not None:
        err.print(f"clearinghouse: 999 {batch.ack_999} for {len(batch.claims)} claim(s) in out/claims/batch.x12")
    table = Table(title="medcode demo")
    for col in ("encounter", "top codes (confidence)", "E/M", "findings", "claim", "277CA", "835"):
        table.add_column(col, overflow="fold")
    summary = []
    for o in outcomes:
        codes = ", ".join(f"{c.code} ({c.confidence:.2f})" for c in (o.coding.codes if o.coding else [])[:4])
        findings = ", ".join(sorted({f.rule_id for f in o.findings})) or "-"
        claim = f"{o.claim_file.relative_to(out.parent) if o.claim_file else '-'}"
        if o.claim is not None:
            claim += f" [{o.claim.status.value}]"
        em = (o.coding.em_level or {}).get("code") if o.coding else None
        sub = o.submission
        remit = "-"
        if sub is not None:
            remit = f"{sub.remit} {sub.paid if sub.paid is not None else ''}".strip()
            if sub.categories:
                remit += " (" + ", ".join(str(getattr(c, "value", c)) for c in sub.categories) + ")"
        elif o.claim is not None and o.claim.status.value == "held":
            remit = "held for review"
        table.add_row(o.encounter.encounter_id if o.encounter else o.name, codes or "(none)",
                      em or "-", findings, claim if not o.error else o.error,
                      sub.ack_277ca if sub is not None else "-", remit)
        summary.append({
            "source": o.name,
            "encounter_id": o.encounter.encounter_id if o.encounter else None,
            # offsets, not quoted note text: the encrypted store keeps the text
            "codes": [c.model_dump(mode="json", exclude={"evidence": {"__all__": {"text"}}, "explanation": True})
                      for c in (o.coding.codes if o.coding else [])],
            "stored_at": str(o.stored_at) if o.stored_at else None,
            "em_level": o.coding.em_level if o.coding else None,
            "findings": [f.model_dump(mode="json") for f in o.findings],
            "claim_file": str(o.claim_file) if o.claim_file else None,
            "claim_status": o.claim.status.value if o.claim else None,
            "ack_277ca": o.submission.ack_277ca if o.submission else None,
            "remit": o.submission.remit if o.submission else None,
            "paid": str(o.submission.paid) if o.submission and o.submission.paid is not None else None,
            "error": o.error,
        })
    # a pipe or a CI log gets a readable width instead of rich's 80-column default
    Console(width=None if sys.stdout.isatty() else 180).print(table)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    err.print(f"outputs under {out}/ (summary.json, claims/); coded encounters encrypted under {store.root}/")
    if not any(o.coding and o.coding.codes for o in outcomes):
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
