"""``medcode rules ...``: import the official CMS NCCI files into the local store.

Registered by ``medcode/cli.py`` as the ``rules`` group::

    medcode rules import ncci-ptp FILE [--replace]     # practitioner PTP (.txt tab-delimited or .csv)
    medcode rules import ncci-mue FILE [--append]      # practitioner MUE (.csv)
    medcode rules import mue-medicaid FILE             # the partial Medicaid MUE JSON (MAI read as 1)

The store is ``settings.var_dir / "ncci" / "ncci.sqlite"``. The PTP table comes as several files per
quarter, so PTP imports append unless ``--replace``; an MUE import replaces the MUEs unless ``--append``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Scrub rules: NCCI edit tables and rule packs.")
import_app = typer.Typer(no_args_is_help=True, help="Import official CMS files into the local NCCI store.")
app.add_typer(import_app, name="import")


def _check(path: Path) -> None:
    if not path.is_file():
        typer.echo(f"error: {path}: no such file", err=True)
        raise typer.Exit(2)


def _report(kind: str, path: Path, rows: int) -> None:
    from rules.ncci import default_store, store_path

    counts = default_store().counts()
    sys.stdout.write(json.dumps({"imported": kind, "file": path.name, "rows": rows,
                                 "store": str(store_path()), "totals": counts}) + "\n")
    if rows == 0:
        typer.echo(f"error: {path.name}: no {kind} rows found (is it the right CMS file?)", err=True)
        raise typer.Exit(1)


@import_app.command("ncci-ptp")
def import_ptp(
    file: Path,
    replace: Annotated[bool, typer.Option("--replace", help="clear the stored PTP edits first")] = False,
) -> None:
    """Import a CMS practitioner PTP file (tab-delimited text, or CSV saved from the xlsx)."""
    from rules.ncci import import_ptp_file

    _check(file)
    _report("ncci-ptp", file, import_ptp_file(file, replace=replace))


@import_app.command("ncci-mue")
def import_mue(
    file: Path,
    append: Annotated[bool, typer.Option("--append", help="keep the stored MUEs, add/overwrite these")] = False,
) -> None:
    """Import a CMS practitioner MUE file (CSV as published)."""
    from rules.ncci import import_mue_file

    _check(file)
    _report("ncci-mue", file, import_mue_file(file, replace=not append))


@import_app.command("mue-medicaid")
def import_mue_medicaid(file: Path) -> None:
    """Import the partial Medicaid MUE JSON ({code: {limit, unit, rationale}}); MAI unknown → read as 1."""
    from rules.ncci import NCCIStore, default_store, read_medicaid_partial, store_path

    _check(file)
    rows = NCCIStore(store_path()).import_mue(read_medicaid_partial(file), replace=False)
    default_store.cache_clear()
    _report("mue-medicaid", file, rows)
