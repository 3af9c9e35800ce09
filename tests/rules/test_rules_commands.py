from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from medcode.rules_commands import app
from medcore.settings import get_settings
from rules.ncci import default_store, store_path

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "ncci"


def test_import_commands_write_the_store_under_var_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDCODE_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    default_store.cache_clear()
    try:
        runner = CliRunner()
        r = runner.invoke(app, ["import", "ncci-ptp", str(FIX / "ptp_practitioner_sample.txt")])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["rows"] == 10
        r = runner.invoke(app, ["import", "ncci-mue", str(FIX / "mue_practitioner_sample.csv")])
        assert r.exit_code == 0 and json.loads(r.stdout)["totals"] == {"ptp": 10, "mue": 14}
        assert store_path() == tmp_path / "ncci" / "ncci.sqlite" and store_path().exists()
        assert default_store().has_ptp and default_store().mue("73560").mai == "1"
        # the wrong file changes nothing and fails
        r = runner.invoke(app, ["import", "ncci-mue", str(FIX / "README.md")])
        assert r.exit_code == 1 and default_store().counts()["mue"] == 14
        assert runner.invoke(app, ["import", "ncci-ptp", str(tmp_path / "missing.txt")]).exit_code == 2
    finally:
        get_settings.cache_clear()
        default_store.cache_clear()
