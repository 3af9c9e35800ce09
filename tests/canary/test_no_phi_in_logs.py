"""Canary: run the demo on samples that carry unique fake PHI, and find none of it in the logs or
the audit table.

What counts (docs/PHI.md, "Logs"):

- **logs** are stderr (Python logging, progress, warnings, error messages) and every ``*.log`` file
  the run writes or the local stand-ins keep (``var/services/*.log``). They must hold no canary.
- the **audit table** must hold none either (it stores ids, pseudonyms and actions only).
- the demo's **summary table on stdout** is output, not a log. It shows encounter ids, sample file
  names and codes; today it holds no canary, and this test keeps it that way, but what is printed
  there is a product decision, not a logging rule.
- ``out/`` (837P claims) is output and *does* hold PHI by design: a claim must carry the patient's
  name and member id. It is checked here to prove the canaries went in. The coded encounters go to
  the encrypted store (``var/encounters``), whose raw bytes must hold no canary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
CANARY_NAME = "CANARYNAME^ZQXJ"
CANARY_MEMBER = "CANARYMBR987"
CANARY_NOTE = "CANARYNOTE-7731"
CANARY_DOB = "1931-07-19"
CANARIES = (CANARY_NAME, "CANARYNAME", "ZQXJ", CANARY_MEMBER, CANARY_NOTE, CANARY_DOB, "19310719")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def canary_run(services, tmp_path_factory):
    if "dynamodb" not in services:
        pytest.skip("needs DynamoDB Local")
    samples = tmp_path_factory.mktemp("samples")
    shutil.copytree(ROOT / "samples", samples, dirs_exist_ok=True)
    manifest = json.loads((samples / "manifest.json").read_text())
    entries = [e for e in manifest["encounters"] if e["format"] == "text"][:2]
    for e in entries:
        e.setdefault("overrides", {}).setdefault("patient", {}).update(
            {"name": CANARY_NAME, "member_id": CANARY_MEMBER, "birth_date": CANARY_DOB})
        note = samples / e["file"]
        note.write_text(note.read_text() + f"\nSocial: {CANARY_NOTE} lives with spouse, nonsmoker.\n")
    manifest["encounters"] = entries
    (samples / "manifest.json").write_text(json.dumps(manifest, indent=2))

    out = tmp_path_factory.mktemp("out")
    table = f"medcode-audit-canary-{uuid.uuid4().hex[:8]}"
    var = tmp_path_factory.mktemp("var")
    if (ROOT / "var" / "index").exists():  # reuse the built indexes; the store starts empty
        shutil.copytree(ROOT / "var" / "index", var / "index")
    env = dict(os.environ) | {
        "MEDCODE_DENSE_ENABLED": "false", "MEDCODE_AUDIT_TABLE": table, "HF_HUB_OFFLINE": "1",
        "MEDCODE_OUT_DIR": str(out), "MEDCODE_VAR_DIR": str(var),
    }
    proc = subprocess.run([sys.executable, "-m", "medcode.cli", "demo", "--samples", str(samples), "--out", str(out)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    yield proc, out, table, var
    from audit import AuditConfig, AuditLog

    AuditLog(AuditConfig.from_settings(table_name=table)).delete_table()


def _hits(text: str) -> list[str]:
    return [c for c in CANARIES if c in text]


def test_the_canaries_went_in(canary_run):
    proc, out, _, var = canary_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    written = "".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())
    assert CANARY_MEMBER in written  # the 837P carries the member id by design
    assert CANARY_NOTE not in written  # the summary cites offsets, not note text


def test_the_encounter_store_holds_no_plaintext(canary_run):
    _, _, _, var = canary_run
    stored = list((var / "encounters").rglob("*.json"))
    assert stored, "the demo stores the coded encounters"
    raw = b"".join(p.read_bytes() for p in stored)
    assert [c for c in CANARIES if c.encode() in raw] == []


def test_no_canary_in_stderr_or_log_files(canary_run):
    proc, out, _, _ = canary_run
    assert _hits(proc.stderr) == [], "PHI in stderr"
    logs = [*out.rglob("*.log"), *(ROOT / "var" / "services").glob("*.log")]
    for path in logs:
        assert _hits(path.read_text(errors="replace")) == [], f"PHI in {path}"


def test_no_canary_in_the_stdout_summary(canary_run):
    proc, _, _, _ = canary_run
    assert _hits(proc.stdout) == []


def test_no_canary_in_the_audit_table(canary_run, services):
    _, _, table, _ = canary_run
    from audit import AuditConfig

    config = AuditConfig.from_settings(table_name=table)
    client = boto3.client("dynamodb", endpoint_url=config.endpoint, region_name=config.region,
                          **config.credentials())
    items = [i for page in client.get_paginator("scan").paginate(TableName=table) for i in page["Items"]]
    assert len(items) > 2  # the run was audited
    dump = json.dumps(items)
    assert _hits(dump) == [], "PHI in the audit table"
