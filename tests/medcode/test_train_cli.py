"""``medcode train ranker``: a tiny budgeted run end to end (the full recipe is in docs/RANKER.md)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from medcode.cli import app


def test_train_ranker_tiny_run_writes_a_loadable_artifact(tmp_path):
    out = tmp_path / "cross"
    res = CliRunner().invoke(app, ["train", "ranker", "--out", str(out), "--limit-examples", "32",
                                   "--max-minutes", "1", "--steps", "2", "--layers", "1",
                                   "--val-queries", "8", "--no-dense", "--seed", "7"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout[res.stdout.index("{"):])
    assert report["out"] == str(out) and report["steps"] >= 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["n_layers"] == 1
    from serving.ranker.cross import load_scorer

    scorer = load_scorer(out, quantize=False, threads=None)
    assert scorer.logits([("hypertension", "Essential (primary) hypertension")]).shape == (1,)


def test_train_ranker_rejects_bad_options(tmp_path):
    res = CliRunner().invoke(app, ["train", "ranker", "--out", str(tmp_path), "--layers", "9"])
    assert res.exit_code == 2
