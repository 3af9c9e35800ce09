"""Audit tests run against the real DynamoDB Local, in a table of their own per session."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from audit import AuditConfig, AuditLog
from medcore.model import AuditAction, AuditEvent

DAY = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def audit_config(services) -> AuditConfig:
    if "dynamodb" not in services:
        pytest.skip("MEDCODE_DYNAMODB_ENDPOINT is unset or not local; audit tests need DynamoDB Local")
    return AuditConfig.from_settings(table_name=f"medcode-audit-test-{uuid.uuid4().hex[:10]}")


@pytest.fixture(scope="session")
def audit_log(audit_config):
    log = AuditLog(audit_config)
    log.ensure_table()
    yield log
    log.delete_table()


@pytest.fixture(scope="session")
def ddb(audit_config):
    """A plain boto3 client: how an intruder with table access would tamper, outside the audit code."""
    return boto3.client(
        "dynamodb",
        endpoint_url=audit_config.endpoint,
        region_name=audit_config.region,
        **audit_config.credentials(),
    )


@pytest.fixture
def tenant() -> str:
    # every test its own tenant, hence its own shards, in the one session table
    return f"tenant-{uuid.uuid4().hex[:12]}"


def make_events(tenant: str, n: int, at: datetime = DAY) -> list[AuditEvent]:
    return [
        AuditEvent(
            tenant_id=tenant,
            actor=f"coder-{i % 3}@clinic.example",
            action=list(AuditAction)[i % len(AuditAction)],
            resource_type="Encounter",
            resource_id=f"enc-{i:05d}",
            source="test",
            at=at + timedelta(seconds=i),
            detail={"stage": "code", "mrn": AuditEvent.pseudonymize(f"MRN{i}")},
        )
        for i in range(n)
    ]


@pytest.fixture(scope="session")
def events() -> Callable[..., list[AuditEvent]]:
    """``events(tenant, n, at=DAY)``: n distinct PHI-free events, one second apart."""
    return make_events


def shard_of(tenant: str, at: datetime = DAY) -> str:
    return f"{tenant}#{at.date().isoformat()}"


@pytest.fixture(scope="session")
def shard() -> Callable[..., str]:
    return shard_of


@pytest.fixture(scope="session")
def digest_log(services, tmp_path_factory):
    """A log of its own (table, Object-Lock bucket, signing key) for digest tests: their digests
    cover every shard of the table, so the other tests' deliberate tampering stays out of them."""
    if "dynamodb" not in services or "moto" not in services:
        pytest.skip("digest tests need DynamoDB Local and moto server")
    suffix = uuid.uuid4().hex[:10]
    config = AuditConfig.from_settings(
        table_name=f"medcode-audit-digest-{suffix}",
        digest_bucket=f"medcode-digests-{suffix}",
        signing_key_path=tmp_path_factory.mktemp("keys") / "digest-signing-key.pem",
    )
    log = AuditLog(config)
    log.ensure_table()
    yield log
    log.delete_table()


@pytest.fixture(scope="session")
def digests(digest_log):
    from audit.digest import Digests

    return Digests(digest_log)
