"""Reading the audit log goes through the access policy; the CLI refuses non-admins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from medcore.access import AccessDenied, Principal, Role

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_admin_reads_its_own_tenant_only(audit_log, events, tenant):
    other = f"{tenant}-other"
    audit_log.append_many(events(tenant, 3) + events(other, 2))
    mine = audit_log.read(Principal("admin@a", tenant, Role.admin), tenant)
    assert [(r.seq, r.event.resource_id) for r in mine] == [(1, "enc-00000"), (2, "enc-00001"), (3, "enc-00002")]
    assert {r.event.tenant_id for r in mine} == {tenant}
    assert [r.seq for r in audit_log.read(Principal("admin@a", tenant, Role.admin), tenant, limit=2)] == [1, 2]
    from datetime import date
    assert len(audit_log.read(Principal("a", tenant, Role.admin), tenant, since=date(2026, 3, 14),
                              until=date(2026, 3, 14))) == 3
    with pytest.raises(AccessDenied, match="audit:read"):
        audit_log.read(Principal("admin@b", other, Role.admin), tenant)


@pytest.mark.parametrize("role", [Role.coder, Role.reviewer, Role.partner])
def test_non_admins_read_no_audit(audit_log, tenant, role):
    with pytest.raises(AccessDenied, match="audit:read"):
        audit_log.read(Principal("u", tenant, role), tenant)


def _cli(env, *args):
    code = "from medcode.audit_commands import app; app()"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def cli_env(services, tmp_path):
    if "moto" not in services:
        pytest.skip("needs moto server")
    suffix = uuid.uuid4().hex[:8]
    env = dict(os.environ)
    for name in ("MEDCODE_ACTOR", "MEDCODE_TENANT", "MEDCODE_ROLE"):
        env.pop(name, None)
    env |= {"MEDCODE_AUDIT_TABLE": f"medcode-audit-cmd-{suffix}", "MEDCODE_AUDIT_DIGEST_BUCKET": f"cmd-{suffix}",
            "MEDCODE_AUDIT_SIGNING_KEY": str(tmp_path / "k.pem")}
    yield env
    from audit import AuditConfig, AuditLog

    AuditLog(AuditConfig.from_settings(table_name=env["MEDCODE_AUDIT_TABLE"])).delete_table()


def test_cli_verify_digest_prove_and_refusals(cli_env, events):
    from audit import AuditConfig, AuditLog

    log = AuditLog(AuditConfig.from_settings(table_name=cli_env["MEDCODE_AUDIT_TABLE"]))
    log.append_many(events("default", 4))
    assert _cli(cli_env, "verify").returncode == 0
    digest = _cli(cli_env, "digest", "--json")
    assert digest.returncode == 0, digest.stderr
    assert json.loads(digest.stdout)["shards"] == 1
    proof = _cli(cli_env, "prove", "default#2026-03-14:2")
    assert proof.returncode == 0, proof.stderr
    assert json.loads(proof.stdout)["verified"] is True
    report = _cli(cli_env, "verify", "--json")
    assert json.loads(report.stdout)["digests_checked"] == 1

    denied = _cli(cli_env | {"MEDCODE_ROLE": "coder"}, "verify", "--tenant", "default")
    assert denied.returncode == 3 and "audit:verify" in denied.stderr
    other_admin = cli_env | {"MEDCODE_TENANT": "tenant-b", "MEDCODE_ROLE": "admin"}
    assert _cli(other_admin, "verify", "--tenant", "default").returncode == 3
    assert _cli(other_admin, "verify").returncode == 3  # the whole table spans tenants
    assert _cli(other_admin, "verify", "--tenant", "tenant-b").returncode == 0
    assert _cli(other_admin, "prove", "default#2026-03-14:2").returncode == 3

    # a truncated tail, head moved back: named by shard and seq
    import boto3

    from tests.audit.conftest import RawTable

    client = boto3.client("dynamodb", endpoint_url=log.config.endpoint, region_name=log.config.region,
                          **log.config.credentials())
    RawTable(client, log.config.table_name).truncate("default#2026-03-14", keep=3, move_head=True)
    assert _cli(cli_env, "verify", "--no-digests").returncode == 0
    broken = _cli(cli_env, "verify")
    assert broken.returncode == 1
    assert "default#2026-03-14 seq 4: truncated" in broken.stderr
