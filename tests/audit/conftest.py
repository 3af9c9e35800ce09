"""Audit tests run against the real DynamoDB Local, in a table of their own per session."""

from __future__ import annotations

import hashlib
import json
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


class RawTable:
    """Plain boto3 access to an audit table's items, as an intruder with table access has it.

    Entries live in blocks (``audit.blocks``): one item per append batch, keyed by its first seq,
    with an ``entries`` string of ``"<hash> <prev_hash> <canonical JSON>"`` lines.
    """

    def __init__(self, ddb, table: str):
        self.ddb, self.table = ddb, table

    @staticmethod
    def key(shard: str, seq: int | str) -> dict:
        return {"shard": {"S": shard}, "seq": {"N": str(seq)}}

    def items(self, shard: str) -> list[dict]:
        pages = self.ddb.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "shard"},  # a reserved word in DynamoDB expressions
            ExpressionAttributeValues={":s": {"S": shard}},
            ConsistentRead=True,
        )
        return [item for page in pages for item in page["Items"]]

    def blocks(self, shard: str) -> list[dict]:
        return [i for i in self.items(shard) if i["seq"]["N"] != "0"]

    def head(self, shard: str) -> dict:
        return self.ddb.get_item(TableName=self.table, Key=self.key(shard, 0), ConsistentRead=True)["Item"]

    def block_of(self, shard: str, seq: int) -> dict:
        """The block holding entry ``seq``."""
        return max((b for b in self.blocks(shard) if int(b["seq"]["N"]) <= seq), key=lambda b: int(b["seq"]["N"]))

    @staticmethod
    def lines(block: dict) -> list[str]:
        return block["entries"]["S"].split("\n")

    def entry(self, shard: str, seq: int) -> tuple[dict, int, str]:
        """(its block, its index in the block, its line)."""
        block = self.block_of(shard, seq)
        index = seq - int(block["seq"]["N"])
        return block, index, self.lines(block)[index]

    def put_lines(self, block: dict, lines: list[str]) -> None:
        if lines:
            self.ddb.put_item(TableName=self.table, Item=block | {"entries": {"S": "\n".join(lines)}})
        else:
            self.delete(block["shard"]["S"], block["seq"]["N"])

    def set_line(self, shard: str, seq: int, line: str) -> None:
        block, index, _ = self.entry(shard, seq)
        lines = self.lines(block)
        lines[index] = line
        self.put_lines(block, lines)

    def delete(self, shard: str, seq: int | str) -> None:
        self.ddb.delete_item(TableName=self.table, Key=self.key(shard, seq))

    def set(self, shard: str, seq: int | str, name: str, value: dict) -> None:
        self.ddb.update_item(
            TableName=self.table,
            Key=self.key(shard, seq),
            UpdateExpression="SET #a = :v",
            ExpressionAttributeNames={"#a": name},
            ExpressionAttributeValues={":v": value},
        )

    def move_head(self, shard: str, seq: int, digest: str) -> None:
        self.ddb.update_item(
            TableName=self.table,
            Key=self.key(shard, 0),
            UpdateExpression="SET last_seq = :s, last_hash = :h",
            ExpressionAttributeValues={":s": {"N": str(seq)}, ":h": {"S": digest}},
        )

    def truncate(self, shard: str, keep: int, move_head: bool) -> None:
        """Delete every entry after ``keep``; with ``move_head`` set the head back consistently (or
        delete it when nothing is kept)."""
        for block in self.blocks(shard):
            first = int(block["seq"]["N"])
            if first > keep:
                self.delete(shard, first)
            elif first + len(self.lines(block)) - 1 > keep:
                self.put_lines(block, self.lines(block)[: keep - first + 1])
        if move_head:
            if keep:
                self.move_head(shard, keep, self.entry(shard, keep)[2][:64])
            else:
                self.delete(shard, 0)


def split(line: str) -> tuple[str, str, dict]:
    """(hash, prev_hash, canonical body) of one stored line."""
    return line[:64], line[65:129], json.loads(line[130:])


def join(digest: str, prev: str, body: dict) -> str:
    return f"{digest} {prev} {canonical_text(body)}"


def canonical_text(body: dict) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def rehashed(prev: str, body: dict) -> str:
    """A line for ``body`` after ``prev`` with a correct hash: what an intruder who knows the formula writes."""
    text = canonical_text(body)
    return f"{hashlib.sha256((text + prev).encode()).hexdigest()} {prev} {text}"


@pytest.fixture(scope="session")
def raw(ddb, audit_config) -> RawTable:
    return RawTable(ddb, audit_config.table_name)


@pytest.fixture(scope="session")
def raw_digest(ddb, digest_log) -> RawTable:
    return RawTable(ddb, digest_log.config.table_name)
