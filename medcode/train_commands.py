"""``medcode train ...``: build the models the project trains itself, from the data it ships.

Registered by ``medcode/cli.py`` as the ``train`` group::

    medcode train ranker [--out DIR] [--max-minutes 60] [--seed N] [--limit-examples N] [--steps N]

The ranker recipe and its artifact format are in docs/RANKER.md. The default ``--out`` is under
``var/``; the coder reads it with ``MEDCODE_RANKER=cross MEDCODE_RANKER_ARTIFACT=DIR``, or it replaces
the shipped artifact with ``--out serving/ranker/data/cross-v1``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Train the models medcode builds itself (never downloaded).")


@app.command("ranker")
def ranker(
    out: Annotated[Path | None, typer.Option(help="artifact folder (default: var/ranker/cross-v1)")] = None,
    max_minutes: Annotated[float, typer.Option(help="wall-clock budget for the whole run")] = 60.0,
    seed: Annotated[int, typer.Option()] = 13,
    limit_examples: Annotated[int | None, typer.Option(help="train on at most this many examples")] = None,
    steps: Annotated[int, typer.Option(help="optimizer steps (the time budget may stop it sooner)")] = 4000,
    layers: Annotated[int, typer.Option(help="MiniLM layers kept (1-6)")] = 4,
    val_queries: Annotated[int, typer.Option(help="held-out queries for validation and calibration")] = 1200,
    threads: Annotated[int, typer.Option(help="torch CPU threads")] = 2,
    dense: Annotated[bool | None, typer.Option("--dense/--no-dense",
                                               help="dense retrieval for validation candidates")] = None,
    calibrate_only: Annotated[bool, typer.Option(
        "--calibrate-only", help="refit the calibration of the artifact in --out (after the fused ranker changed)")] = False,
) -> None:
    """Train the cross-encoder ranker from the ICD-10-CM reference data; write artifact + manifest."""
    from medcore.refdata.releases import latest_codeset
    from medcore.settings import get_settings
    from serving.ranker.train import TrainConfig, recalibrate, train

    if not 1 <= layers <= 6:
        typer.echo("error: --layers must be 1-6", err=True)
        raise typer.Exit(2)
    if max_minutes <= 0 or steps <= 0:
        typer.echo("error: --max-minutes and --steps must be positive", err=True)
        raise typer.Exit(2)
    target = out or get_settings().var_dir / "ranker" / "cross-v1"
    cfg = TrainConfig(out=target, seed=seed, n_layers=layers, steps=steps, max_minutes=max_minutes,
                      limit_examples=limit_examples, val_queries=val_queries, threads=threads, dense=dense)
    report = (recalibrate if calibrate_only else train)(latest_codeset(), cfg)
    m = report.manifest
    sys.stdout.write(json.dumps({"out": str(report.out), "steps": report.steps, "seconds": m["seconds"],
                                 "stopped_by": m.get("stopped_by"), "calibration": m["calibration"],
                                 "validation": m["validation"]}, indent=2) + "\n")
