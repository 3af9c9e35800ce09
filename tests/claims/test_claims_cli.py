"""``medcode claim submit`` and ``medcode remit import`` (the Typer apps, driven in-process)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from claims.simulator import load_rules, running_simulator
from claims.x837p.build import build_837p, claim_from_encounter
from medcode.claims_commands import app, remit_app
from medcore.model import Encounter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "x12"


def test_submit_json(tmp_path: Path, office_visit: Encounter, settings, created) -> None:
    path = tmp_path / "claim.x12"
    path.write_text(build_837p([(office_visit, claim_from_encounter(office_visit))], settings=settings, created=created))
    with running_simulator(rules=load_rules().without_noise()) as base_url:
        result = CliRunner().invoke(app, ["submit", str(path), "--base-url", base_url, "--json", "--timeout", "10"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ack_999"] == "accepted" and report["complete"]
    assert report["claims"][0]["ack_277ca"] == "accepted" and report["claims"][0]["remit"] == "paid"


def test_submit_rejected_exits_1(tmp_path: Path, office_visit: Encounter, settings, created) -> None:
    path = tmp_path / "claim.x12"
    x12 = build_837p([(office_visit, claim_from_encounter(office_visit))], settings=settings, created=created)
    path.write_text(x12.replace("CLM*ENC-0001*185.5*", "CLM*ENC-0001*ABC*"))
    with running_simulator() as base_url:
        result = CliRunner().invoke(app, ["submit", str(path), "--base-url", base_url, "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ack_999"] == "rejected" and report["ack_999_errors"][0]["segment"] == "CLM"


def test_remit_import_json() -> None:
    result = CliRunner().invoke(remit_app, ["import", str(FIXTURES / "simulator_denials.835"), "--json"])
    assert result.exit_code == 0, result.output
    claims = {c["claim_id"]: c for c in json.loads(result.stdout)["remittances"][0]["claims"]}
    assert claims["DEN-0002"]["status"] == "denied" and claims["DEN-0002"]["denial_categories"] == ["prior_authorization"]
    assert claims["DEN-0002"]["remarks"][0]["code"] == "M62"


def test_remit_import_table_and_bad_file(tmp_path: Path) -> None:
    assert CliRunner().invoke(remit_app, ["import", str(FIXTURES / "simulator_denials.835")]).exit_code == 0
    bad = tmp_path / "x.835"
    bad.write_text("not x12")
    assert CliRunner().invoke(remit_app, ["import", str(bad)]).exit_code == 2
