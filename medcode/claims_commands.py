"""``medcode claim submit`` and ``medcode remit import``: clearinghouse submission and 835 import.

Register with ``app.add_typer(claims_commands.app, ...)`` / ``app.add_typer(claims_commands.remit_app,
name="remit")`` in ``medcode/cli.py``. ``--json`` output goes to stdout alone; messages go to
stderr and never quote claim content.
"""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True, help="Submit claims to a clearinghouse; train the denial model.")
remit_app = typer.Typer(no_args_is_help=True, help="Import 835 remittance advice.")



@remit_app.callback()
def _remit() -> None:
    """Import 835 remittance advice."""  # a callback keeps `import` a subcommand when run standalone


err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _read_text(path: Path) -> str:
    if not path.is_file():
        _fail(f"{path}: no such file")
    return path.read_bytes().decode("ascii", errors="replace")


@app.command("submit")
def submit(
    file: Annotated[Path, typer.Argument(help="an 837P interchange")],
    base_url: Annotated[str | None, typer.Option("--base-url", envvar="MEDCODE_CLEARINGHOUSE_URL",
                                                 help="clearinghouse API; omitted: a local simulator is started")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait for acknowledgments and remittance")] = 30.0,
    idempotency_key: Annotated[str | None, typer.Option("--idempotency-key", help="default: a digest of the file")] = None,
) -> None:
    """Submit an 837P; print the receipt, the 999 and 277CA status and the 835 outcome per claim.

    Credentials come from MEDCODE_CLEARINGHOUSE_TOKEN (bearer) or MEDCODE_CLEARINGHOUSE_API_KEY.
    """
    from claims.clearinghouse import ClearinghouseConfig, ClearinghouseError, HttpClearinghouse
    from claims.simulator import running_simulator
    from claims.submission import submit_and_reconcile

    x12 = _read_text(file)
    if not x12.lstrip().startswith("ISA"):
        _fail(f"{file}: not an X12 interchange (it does not start with ISA)")
    with ExitStack() as stack:
        if base_url is None:
            base_url = stack.enter_context(running_simulator())
            err.print(f"no --base-url: using a local clearinghouse simulator at {base_url}")
        config = ClearinghouseConfig(
            base_url=base_url,
            bearer_token=os.environ.get("MEDCODE_CLEARINGHOUSE_TOKEN"),
            api_key=os.environ.get("MEDCODE_CLEARINGHOUSE_API_KEY"),
        )
        client = stack.enter_context(HttpClearinghouse(config))
        try:
            outcome = submit_and_reconcile(client, x12, idempotency_key=idempotency_key, timeout_s=timeout)
        except ClearinghouseError as exc:
            _fail(str(exc), code=1)
    report = {
        "receipt": outcome.receipt.model_dump(mode="json"),
        "ack_999": outcome.ack_999,
        "ack_999_errors": [
            {"transaction": t.control_number, "segment": e.segment_id, "position": e.position, "code": e.code,
             "elements": [{"position": el.position, "element": el.element_reference, "code": el.code} for el in e.elements]}
            for a in outcome.ack_999_detail for t in a.transactions for e in t.segment_errors
        ],
        "claims": [c.model_dump(mode="json", exclude={"payment"}) for c in outcome.claims],
        "complete": outcome.complete,
        "catalog_version": outcome.catalog_version,
    }
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        err.print(f"submission {outcome.receipt.submission_id}: 999 {outcome.ack_999}")
        for e in report["ack_999_errors"]:
            err.print(f"  IK3 {e['segment']} at {e['position']} (code {e['code']}): "
                      + ", ".join(f"IK4 element {el['position']} code {el['code']}" for el in e["elements"]))
        table = Table("claim", "277CA", "835", "charge", "paid", "patient", "denial categories", "adjustments")
        for c in report["claims"]:
            table.add_row(c["claim_id"], f"{c['ack_277ca']} {' '.join(c['status_codes'])}", c["remit"],
                          str(c["charge"] or "-"), str(c["paid"] or "-"), str(c["patient_responsibility"] or "-"),
                          ", ".join(c["categories"]) or "-", ", ".join(c["adjustments"]) or "-")
        out.print(table)
    if outcome.ack_999 == "rejected" or any(c.ack_277ca == "rejected" for c in outcome.claims):
        raise typer.Exit(1)


@app.command("train-denials")
def train_denials(
    n: Annotated[int, typer.Option(help="synthetic claims to generate")] = 6000,
    seed: Annotated[int, typer.Option()] = 7,
    threshold: Annotated[float, typer.Option(help="review threshold")] = 0.5,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Build the denial model locally from the simulator's synthetic history; save it under var/models."""
    from claims.denials import default_model_path, train_denial_model

    path = default_model_path()
    model = train_denial_model(n, seed=seed, threshold=threshold, save_to=path)
    if as_json:
        print(json.dumps({**model.metrics.model_dump(), "path": str(path)}))
    else:
        err.print(f"saved {path}: AUC {model.metrics.auc}, precision@{threshold} {model.metrics.precision_at_threshold}")


@app.command("appeal")
def appeal(
    encounter: Annotated[Path, typer.Argument(help="the coded Encounter JSON the claim came from")],
    remit: Annotated[Path, typer.Option("--remit", help="the 835 that denied the claim")],
    claim_id: Annotated[str | None, typer.Option("--claim", help="claim id in the 835 (default: the first "
                                                 "appealable denial)")] = None,
    llm: Annotated[Path | None, typer.Option("--llm", help="local model folder: add an LLM-drafted justification "
                                             "(default MEDCODE_LLM_MODEL_PATH; docs/LLM.md)")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="write the letter here instead of stdout")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout: claim id, letter, llm status")] = False,
) -> None:
    """Draft an appeal letter for a denied claim: the template, plus an LLM-drafted section when configured.

    Without a model (or when it fails) the letter is the template's alone; ``llm.status`` says why.
    """
    from pydantic import ValidationError

    from claims.denials import NotAppealable, draft_appeal
    from claims.remit import load_catalog, parse_835
    from medcore.model import Encounter
    from serving.llm import LlmConfig, LocalLlm

    if not encounter.is_file():
        _fail(f"{encounter}: no such file")
    try:
        enc = Encounter.model_validate_json(encounter.read_bytes())
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
        _fail(f"{encounter}: invalid Encounter ({fields})")
    try:
        claims = [c for r in parse_835(_read_text(remit)) for c in r.claims]
    except ValueError as exc:
        _fail(f"{remit}: {exc}")
    catalog = load_catalog()
    if claim_id is not None:
        chosen = [c for c in claims if c.claim_id == claim_id]
        if not chosen:
            _fail(f"{remit}: no claim {claim_id}")
    else:
        chosen = [c for c in claims if any(catalog.is_denial(a.category) and catalog.is_appealable(a.category)
                                           and a.amount > 0 for a in c.all_adjustments())][:1]
        if not chosen:
            _fail(f"{remit}: no claim with an appealable denial", code=1)
    with LocalLlm(LlmConfig.from_settings(model_path=llm)) as local:
        if local.error:
            err.print(f"[yellow]warning:[/yellow] LLM unavailable ({local.error}); template letter only")
        writer = local.appeal_writer([n.text for n in enc.notes])
        try:
            letter = draft_appeal(chosen[0], enc, writer=writer, catalog=catalog)
        except NotAppealable as exc:
            _fail(str(exc), code=1)
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(letter)
        err.print(f"wrote {out_file} (llm: {writer.info['status']})")
    if as_json:
        print(json.dumps({"claim_id": chosen[0].claim_id, "letter": letter, "llm": writer.info}, indent=2))
    elif out_file is None:
        print(letter, end="")


def _remit_report(path: Path) -> dict[str, Any]:
    from claims.remit import load_catalog, parse_835

    try:
        remittances = parse_835(_read_text(path))
    except ValueError as exc:
        _fail(f"{path}: {exc}")
    catalog = load_catalog()
    return {
        "file": str(path),
        "catalog_version": catalog.version,
        "remittances": [
            {
                "control_number": r.control_number,
                "payer": r.payer_name,
                "payment_amount": str(r.payment_amount),
                "payment_method": r.payment_method,
                "trace_number": r.trace_number,
                "claims": [
                    {
                        "claim_id": c.claim_id,
                        "status": c.status,
                        "status_code": c.status_code,
                        "charge": str(c.charge),
                        "paid": str(c.paid),
                        "patient_responsibility": str(c.patient_responsibility),
                        "denied_amount": str(c.denied_amount),
                        "denial_categories": [x.value for x in c.denial_categories],
                        "balanced": c.balanced,
                        "adjustments": [
                            {"group": a.group, "carc": a.carc, "amount": str(a.amount), "category": a.category.value,
                             "text": a.carc_text}
                            for a in c.all_adjustments()
                        ],
                        "remarks": [{"code": m, "text": catalog.rarc_info(m).text} for m in c.all_remarks()],
                    }
                    for c in r.claims
                ],
                "provider_adjustments": [p.model_dump(mode="json") for p in r.provider_adjustments],
            }
            for r in remittances
        ],
    }


@remit_app.command("import")
def remit_import(
    file: Annotated[Path, typer.Argument(help="an 835 file")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Parse an 835 and print payments, adjustments and denials with their categories."""
    report = _remit_report(file)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    for r in report["remittances"]:
        err.print(f"835 {r['control_number']} from {r['payer']}: {r['payment_amount']} ({r['payment_method']} {r['trace_number']})")
        table = Table("claim", "status", "charge", "paid", "patient", "denied", "categories", "adjustments", "remarks")
        for c in r["claims"]:
            table.add_row(c["claim_id"], c["status"], c["charge"], c["paid"], c["patient_responsibility"], c["denied_amount"],
                          ", ".join(c["denial_categories"]) or "-",
                          ", ".join(f"{a['group']}-{a['carc']} {a['amount']} ({a['category']})" for a in c["adjustments"]) or "-",
                          ", ".join(m["code"] for m in c["remarks"]) or "-")
        out.print(table)
    err.print(f"categories from carc_categories.yaml version {report['catalog_version']}")
