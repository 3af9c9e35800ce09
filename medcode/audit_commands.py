"""``medcode audit ...``: verify the chains and digests, anchor a digest now, prove one event.

Registered by ``medcode/cli.py`` in place of its own audit app::

    from medcode.audit_commands import app as audit_app
    app.add_typer(audit_app, name="audit")

The caller is a :class:`medcore.access.Principal` from ``MEDCODE_ACTOR``, ``MEDCODE_TENANT`` and
``MEDCODE_ROLE`` (by default the local admin of the operator tenant). Exit codes: 0 intact, 1 a bad
entry or digest (named on stderr), 2 bad input or the digest store unreachable, 3 access denied.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log, its signed digests and proofs.")
err = Console(stderr=True, soft_wrap=True)

EXIT_BROKEN, EXIT_USAGE, EXIT_DENIED = 1, 2, 3


def _logging() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def _fail(message: str, code: int = EXIT_USAGE) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _principal_allowed(action: str, tenant: str):
    from medcore.access import AccessDenied, Principal, authorize

    try:
        principal = Principal.from_env()
        authorize(principal, action, tenant)
    except ValueError as exc:
        _fail(str(exc))
    except AccessDenied as exc:
        _fail(f"access denied: {exc}", EXIT_DENIED)
    return principal


def _digests():
    from audit.chain import AuditLog
    from audit.config import AuditConfig
    from audit.digest import Digests

    return Digests(AuditLog(AuditConfig.from_settings()))


def _store_error(exc: Exception) -> None:
    _fail(f"digest store unreachable ({type(exc).__name__}); start it with `make services-up` "
          "or pass --no-digests", EXIT_USAGE)


@app.command("verify")
def verify(
    tenant: Annotated[str | None, typer.Option(help="only this tenant's shards")] = None,
    since: Annotated[str | None, typer.Option(help="only shards from this day (YYYY-MM-DD)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the report as JSON on stdout")] = False,
    digests: Annotated[bool, typer.Option("--digests/--no-digests",
                                          help="also check against the signed, anchored digests")] = True,
) -> None:
    """Check the audit chains (and digests): exit 0 when intact, 1 naming the first bad entry."""
    _logging()
    from medcore.access import ALL_TENANTS, Action

    _principal_allowed(Action.audit_verify, tenant if tenant is not None else ALL_TENANTS)
    from botocore.exceptions import BotoCoreError, ClientError

    from audit.chain import AuditLog
    from audit.config import AuditConfig
    from audit.verify import verify as run_verify

    since_day = None
    if since:
        try:
            since_day = date.fromisoformat(since)
        except ValueError:
            _fail("--since must be YYYY-MM-DD")
    log = AuditLog(AuditConfig.from_settings())
    try:
        report = run_verify(log, tenant=tenant, since=since_day, digests=_digests() if digests else None)
    except (BotoCoreError, ClientError) as exc:
        _store_error(exc)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
    anchored = "" if report.digests_checked is None else f", {report.digests_checked} digest(s)"
    if report.ok:
        err.print(f"audit chain intact: {report.events_checked} event(s) in {report.shards_checked} shard(s){anchored}")
        return
    if report.first_bad is not None:
        bad = report.first_bad
        err.print(f"[red]audit chain broken[/red] at shard {bad.shard} seq {bad.seq}: {bad.reason}"
                  + (f" ({bad.detail})" if bad.detail else ""))
    for bad_digest in report.digest_failures[:10]:
        err.print(f"[red]audit digest bad[/red]: {bad_digest}")
    raise typer.Exit(EXIT_BROKEN)


@app.command("digest")
def digest(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Sign every shard's head now and anchor the digest in S3 under Object Lock."""
    _logging()
    from medcore.access import ALL_TENANTS, Action

    _principal_allowed(Action.audit_verify, ALL_TENANTS)
    from botocore.exceptions import BotoCoreError, ClientError

    from audit.digest import DigestConflict

    try:
        result = _digests().create()
    except DigestConflict as exc:
        _fail(f"{exc}; run it again", EXIT_BROKEN)
    except (BotoCoreError, ClientError) as exc:
        _store_error(exc)
    payload = {
        "number": result.number, "key": result.key, "merkle_root": result.merkle_root,
        "digest_hash": result.digest_hash, "shards": result.shards, "created_at": result.created_at,
        "regressed": result.regressed,
    }
    if as_json:
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    err.print(f"digest {result.number} anchored: {result.shards} shard head(s), root {result.merkle_root[:16]}…")
    if result.regressed:
        err.print(f"[red]{len(result.regressed)} shard(s) are behind their anchored head[/red]; run `medcode audit verify`")
        raise typer.Exit(EXIT_BROKEN)


@app.command("prove")
def prove(
    event: Annotated[str, typer.Argument(help="'<tenant>#<YYYY-MM-DD>:<seq>', e.g. 'default#2026-05-04:17'")],
) -> None:
    """Print an inclusion proof (JSON) of one event in an anchored digest; exit 0 when it checks."""
    _logging()
    from audit.digest import DigestError, parse_event_ref
    from audit.entry import shard_tenant
    from medcore.access import Action

    try:
        shard, _seq = parse_event_ref(event)
    except DigestError as exc:
        _fail(str(exc))
    _principal_allowed(Action.audit_read, shard_tenant(shard))
    from botocore.exceptions import BotoCoreError, ClientError

    store = _digests()
    try:
        proof = store.prove(event)
        ok = store.verify_proof(proof)
    except DigestError as exc:
        _fail(str(exc), EXIT_BROKEN)
    except (BotoCoreError, ClientError) as exc:
        _store_error(exc)
    sys.stdout.write(json.dumps(proof.to_dict() | {"verified": ok}, indent=2) + "\n")
    if not ok:
        err.print("[red]the proof does not check against its signed digest[/red]")
        raise typer.Exit(EXIT_BROKEN)
    err.print(f"{event}: included in digest {proof.digest_number} (root {proof.root[:16]}…)")
