"""SIGKILL the bulk runner at random points, restart it, and prove exactly-once results.

N synthetic encounters (FHIR Bulk NDJSON) go through ``medcode.jobs_commands run`` as a subprocess
with the real coder (dense off), a fresh audit table (MEDCODE_AUDIT_TABLE) and a checkpoint file.
Killed 3 times mid-run and restarted each time, the job must end with exactly one claim file per
encounter, exactly one of each audit event per encounter, and an intact audit chain.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
N = int(os.environ.get("MEDCODE_FAULT_N", "60"))
KILLS = 3

pytestmark = pytest.mark.integration


def _claims(out: Path) -> list[Path]:
    d = out / "claims"
    return [p for p in d.glob("*.x12") if not p.name.startswith(".")] if d.exists() else []


def test_sigkill_and_resume_gives_exactly_one_claim_and_audit_trail(services, tmp_path):
    if "dynamodb" not in services:
        pytest.skip("needs DynamoDB Local")
    from jobs.synthetic import generate, write_ndjson

    data = tmp_path / "export.ndjson"
    write_ndjson(data, N, seed=7)
    expected = {s.encounter.encounter_id for s in generate(N, seed=7)}
    table = f"medcode-audit-fault-{uuid.uuid4().hex[:8]}"
    out, ckpt = tmp_path / "out", tmp_path / "checkpoint.json"
    env = dict(os.environ) | {"MEDCODE_AUDIT_TABLE": table, "MEDCODE_DENSE_ENABLED": "false", "HF_HUB_OFFLINE": "1",
                              "MEDCODE_OUT_DIR": str(out), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "medcode.jobs_commands", "run", "--input", str(data), "--format", "ndjson",
           "--checkpoint", str(ckpt), "--out", str(out), "--batch-size", "6", "--job", f"fault{uuid.uuid4().hex[:6]}"]
    rng = random.Random(20261128)
    kills = 0
    try:
        for _ in range(KILLS):
            proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            before = len(_claims(out))
            target = before + rng.randint(2, max(3, N // (KILLS + 2)))
            deadline = time.monotonic() + 120
            while proc.poll() is None and len(_claims(out)) < target and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.4))  # land somewhere inside a stage, not just after a claim
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
        final = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert final.returncode == 0, final.stderr[-3000:]
        report = json.loads(final.stdout.strip().splitlines()[-1])
        assert kills >= 2, "the job finished before it could be killed; raise MEDCODE_FAULT_N"
        assert any(v > 0 for v in report["resumed_from"].values()), "the last run did not resume from a checkpoint"

        # exactly one claim per encounter, named by encounter id
        names = [p.stem for p in _claims(out)]
        assert sorted(names) == sorted(expected)
        # exactly one audit trail per encounter
        from audit import AuditConfig, AuditLog, verify
        from medcore.access import Principal, Role

        log = AuditLog(AuditConfig.from_settings(table_name=table))
        today = datetime.now(UTC).date()
        records = log.read(Principal("test:auditor", "default", Role.admin), "default", since=today - timedelta(days=1))
        seen = Counter((r.event.resource_id, r.event.resource_type, r.event.action.value, r.event.detail.get("stage", ""))
                       for r in records)
        for eid in expected:
            for kind in (("Encounter", "create", ""), ("Encounter", "read", "code"), ("Encounter", "update", "code"),
                         ("Encounter", "read", "scrub"), ("Claim", "create", "")):
                assert seen[(eid, *kind)] == 1, (eid, kind, seen[(eid, *kind)])
        assert len(records) == 5 * N
        report_v = verify(log)
        assert report_v.ok, str(report_v.first_bad)
    finally:
        from audit import AuditConfig, AuditLog
        from handlers.once import AuditOnce

        AuditLog(AuditConfig.from_settings(table_name=table)).delete_table()
        AuditOnce(table_name=f"{table}-once").delete_table()
