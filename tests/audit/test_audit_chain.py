"""Appending: batching, chaining, sharding, retention, PHI refusal and concurrent writers."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from audit import AuditConfig, AuditLog, PHIRejected, verify
from medcore.model import AuditEvent

pytestmark = pytest.mark.integration

FIELDS = ("tenant_id", "actor", "action", "resource_type", "resource_id", "purpose", "source", "at", "detail")


def _items(ddb, table: str, shard: str) -> list[dict]:
    pages = ddb.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "shard"},  # a reserved word in DynamoDB expressions
        ExpressionAttributeValues={":s": {"S": shard}},
        ConsistentRead=True,
    )
    return [item for page in pages for item in page["Items"]]


def test_250_events_cross_the_batch_size_and_verify(audit_log, ddb, tenant, events, shard):
    results = audit_log.append_many(events(tenant, 250))

    assert [r.seq for r in results] == list(range(1, 251))
    assert {r.shard for r in results} == {shard(tenant)}
    items = _items(ddb, audit_log.config.table_name, shard(tenant))
    head = next(i for i in items if i["seq"]["N"] == "0")
    assert (int(head["last_seq"]["N"]), head["last_hash"]["S"]) == (250, results[-1].hash)
    report = verify(audit_log, tenant=tenant)
    assert report.ok, report.first_bad
    assert (report.events_checked, report.shards_checked) == (250, 1)


def test_hash_follows_the_documented_formula(audit_log, ddb, tenant, events, shard):
    # recomputed here from the stored item, independently of audit.entry
    audit_log.append_many(events(tenant, 3))
    items = sorted(_items(ddb, audit_log.config.table_name, shard(tenant)), key=lambda i: int(i["seq"]["N"]))
    prev = "0" * 64
    for item in items[1:]:
        body = {name: item[name]["S"] for name in FIELDS if name != "detail"}
        body["detail"] = {k: v["S"] for k, v in item["detail"]["M"].items()}
        body |= {"shard": item["shard"]["S"], "seq": int(item["seq"]["N"])}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert item["prev_hash"]["S"] == prev
        assert item["hash"]["S"] == hashlib.sha256(canonical + prev.encode()).hexdigest()
        prev = item["hash"]["S"]


def test_single_appends_continue_the_chain(audit_log, tenant, events):
    first, second, *rest = events(tenant, 5)
    assert audit_log.append(first).seq == 1
    assert audit_log.append(second).seq == 2
    assert [r.seq for r in audit_log.append_many(rest)] == [3, 4, 5]
    assert verify(audit_log, tenant=tenant).ok


def test_one_chain_per_tenant_and_utc_day(audit_log, tenant, events, shard):
    day_one = events(tenant, 3)
    # 23:30 at UTC-5 is already the next UTC day
    late = datetime(2026, 3, 14, 23, 30, tzinfo=UTC) + timedelta(hours=5)
    day_two = events(tenant, 2, at=late)
    mixed = [day_one[0], day_two[0], day_one[1], day_two[1], day_one[2]]

    results = audit_log.append_many(mixed)

    assert [(r.shard, r.seq) for r in results] == [
        (shard(tenant), 1),
        (shard(tenant, late), 1),
        (shard(tenant), 2),
        (shard(tenant, late), 2),
        (shard(tenant), 3),
    ]
    report = verify(audit_log, tenant=tenant)
    assert report.ok and report.shards_checked == 2 and report.events_checked == 5


def test_ttl_keeps_every_item_at_least_six_years(audit_log, ddb, tenant, events, shard):
    at = datetime(2024, 2, 29, 23, 59, 58, tzinfo=UTC)  # a leap day: six years later has no 29 February
    audit_log.append_many(events(tenant, 2, at=at))
    six_years_later = datetime(2030, 3, 1, 23, 59, 59, tzinfo=UTC).timestamp()
    items = _items(ddb, audit_log.config.table_name, shard(tenant, at))
    assert len(items) == 3  # the head expires with its events, never before them
    for item in items:
        assert int(item["ttl"]["N"]) >= six_years_later


@pytest.mark.parametrize(
    "change",
    [
        {"resource_id": "x" * 300},
        {"detail": {"note": "Patient is a 54 year old man with chest pain"}},
        {"detail": {"patient_name": "Jane Doe"}},
        {"detail": {"summary": "y" * 300}},
    ],
    ids=["long-resource-id", "note-text", "raw-name", "long-detail"],
)
def test_phi_is_refused_and_nothing_written(audit_log, tenant, events, change):
    good, bad = events(tenant, 2)
    with pytest.raises(PHIRejected):
        audit_log.append_many([good, bad.model_copy(update=change)])
    assert verify(audit_log, tenant=tenant).shards_checked == 0


def test_pseudonymized_identifiers_are_accepted(audit_log, tenant, events):
    (event,) = events(tenant, 1)
    event = event.model_copy(update={"detail": {"member_id": AuditEvent.pseudonymize("W123456789")}})
    assert audit_log.append(event).seq == 1


def test_two_writers_on_one_shard_never_fork(audit_config, tenant, events, shard):
    writers = [AuditLog(audit_config), AuditLog(audit_config)]
    start = threading.Barrier(len(writers))
    seqs: list[list[int]] = [[] for _ in writers]
    errors: list[BaseException] = []

    def write(index: int) -> None:
        log, mine = writers[index], events(tenant, 130)
        start.wait()
        try:
            for batch in range(0, 120, 15):
                seqs[index] += [r.seq for r in log.append_many(mine[batch : batch + 15])]
            for event in mine[120:]:
                seqs[index].append(log.append(event).seq)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(writers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert not errors, errors
    for mine in seqs:
        assert mine == sorted(mine) and len(mine) == 130
    assert sorted(seqs[0] + seqs[1]) == list(range(1, 261))
    report = verify(writers[0], tenant=tenant)
    assert report.ok, report.first_bad
    assert report.events_checked == 260


def test_verify_of_a_table_never_created_is_ok(audit_config):
    missing = AuditConfig.from_settings(
        table_name=f"{audit_config.table_name}-never", endpoint=audit_config.endpoint
    )
    report = verify(missing)
    assert report.ok and report.events_checked == 0 and report.first_bad is None
