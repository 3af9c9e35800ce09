"""The planted-error fixture set: every rule is caught, and clean claims get no error findings."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from medcore.model import Encounter
from rules import RULES, load_pack, scrub
from rules.eligibility import LocalEligibilitySimulator
from rules.ncci import NCCIStore, read_mue, read_ptp

MANIFEST = Path(__file__).resolve().parents[1] / "fixtures" / "scrub" / "manifest.json"
DATA = json.loads(MANIFEST.read_text())


@pytest.fixture(scope="module")
def store() -> NCCIStore:
    s = NCCIStore(None)
    s.import_ptp(read_ptp(MANIFEST.parent / DATA["ncci"]["ptp"]))
    s.import_mue(read_mue(MANIFEST.parent / DATA["ncci"]["mue"]))
    return s


def _run(claim: dict, store: NCCIStore):
    opts = {**DATA["defaults"], **claim}
    enc = Encounter.model_validate_json((MANIFEST.parent / claim["file"]).read_text())
    return scrub(enc, pack=load_pack(opts["pack"]), today=date.fromisoformat(opts["today"]), ncci=store,
                 eligibility=LocalEligibilitySimulator() if opts.get("eligibility") == "simulator" else None)


def test_the_set_is_big_enough_and_covers_every_rule():
    planted = [c for c in DATA["claims"] if c["expected"]]
    clean = [c for c in DATA["claims"] if not c["expected"]]
    assert len(planted) >= 40 and len(clean) >= 40
    assert {r for c in planted for r in c["expected"]} == set(RULES)


@pytest.mark.parametrize("claim", [c for c in DATA["claims"] if c["expected"]], ids=lambda c: c["file"])
def test_planted_errors_are_caught(claim, store):
    found = {f.rule_id for f in _run(claim, store)}
    assert set(claim["expected"]) <= found
    assert found <= set(claim["expected"]), f"unexpected: {found - set(claim['expected'])}"


@pytest.mark.parametrize("claim", [c for c in DATA["claims"] if not c["expected"]], ids=lambda c: c["file"])
def test_clean_claims_have_no_errors(claim, store):
    findings = _run(claim, store)
    assert not [f for f in findings if f.severity.value == "error"], findings
    assert not findings
