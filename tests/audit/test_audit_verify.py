"""Verifying: each kind of tampering, done with plain boto3, is found and named by shard and seq."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from audit import Reason, verify
from audit.entry import entry_hash

pytestmark = pytest.mark.integration


def _key(shard: str, seq: int) -> dict:
    return {"shard": {"S": shard}, "seq": {"N": str(seq)}}


def _set(ddb, table: str, shard: str, seq: int, name: str, value: dict) -> None:
    ddb.update_item(
        TableName=table,
        Key=_key(shard, seq),
        UpdateExpression="SET #a = :v",
        ExpressionAttributeNames={"#a": name},
        ExpressionAttributeValues={":v": value},
    )


def _get(ddb, table: str, shard: str, seq: int) -> dict:
    return ddb.get_item(TableName=table, Key=_key(shard, seq), ConsistentRead=True)["Item"]


@pytest.fixture
def chain(audit_log, tenant, events, shard):
    """A fresh 20-event chain: (table, tenant, shard)."""
    audit_log.append_many(events(tenant, 20))
    assert verify(audit_log, tenant=tenant).ok
    return audit_log.config.table_name, tenant, shard(tenant)


def _first_bad(audit_log, tenant):
    report = verify(audit_log, tenant=tenant)
    assert not report.ok
    assert report.first_bad == report.failures[0]
    return report.first_bad.shard, report.first_bad.seq, report.first_bad.reason


def test_modified_attribute_is_a_hash_mismatch(audit_log, ddb, chain):
    table, tenant, shard = chain
    _set(ddb, table, shard, 13, "actor", {"S": "someone-else@clinic.example"})
    assert _first_bad(audit_log, tenant) == (shard, 13, Reason.hash_mismatch)


def test_changed_attribute_type_is_reported_not_raised(audit_log, ddb, chain):
    table, tenant, shard = chain
    _set(ddb, table, shard, 4, "resource_id", {"N": "4"})
    assert _first_bad(audit_log, tenant) == (shard, 4, Reason.hash_mismatch)


def test_deleted_entry_in_the_middle_is_a_gap(audit_log, ddb, chain):
    table, tenant, shard = chain
    ddb.delete_item(TableName=table, Key=_key(shard, 10))
    assert _first_bad(audit_log, tenant) == (shard, 10, Reason.gap)


def test_deleted_last_entry_is_a_head_mismatch(audit_log, ddb, chain):
    table, tenant, shard = chain
    ddb.delete_item(TableName=table, Key=_key(shard, 20))
    assert _first_bad(audit_log, tenant) == (shard, 20, Reason.head_mismatch)


def _fields(item: dict) -> dict:
    names = ("tenant_id", "actor", "action", "resource_type", "resource_id", "purpose", "source", "at")
    return {name: item[name]["S"] for name in names} | {
        "detail": {k: v["S"] for k, v in item["detail"]["M"].items()}
    }


def test_copied_entry_past_the_head_is_a_hash_mismatch(audit_log, ddb, chain):
    table, tenant, shard = chain
    forged = _get(ddb, table, shard, 20)
    forged["seq"] = {"N": "21"}
    ddb.put_item(TableName=table, Item=forged)
    assert _first_bad(audit_log, tenant) == (shard, 21, Reason.hash_mismatch)


def test_well_forged_entry_past_the_head_is_a_head_mismatch(audit_log, ddb, chain):
    # hash and link both right: only the head, moved by transactions alone, gives it away
    table, tenant, shard = chain
    last = _get(ddb, table, shard, 20)
    forged = dict(last, seq={"N": "21"}, prev_hash=last["hash"])
    forged["hash"] = {"S": entry_hash(_fields(forged), shard, 21, last["hash"]["S"])}
    ddb.put_item(TableName=table, Item=forged)
    assert _first_bad(audit_log, tenant) == (shard, 21, Reason.head_mismatch)


def test_deleted_head_is_a_head_mismatch(audit_log, ddb, chain):
    table, tenant, shard = chain
    ddb.delete_item(TableName=table, Key=_key(shard, 0))
    assert _first_bad(audit_log, tenant) == (shard, 0, Reason.head_mismatch)


def test_swapped_entries_are_caught_at_the_first(audit_log, ddb, chain):
    table, tenant, shard = chain
    five, six = _get(ddb, table, shard, 5), _get(ddb, table, shard, 6)
    five["seq"], six["seq"] = six["seq"], five["seq"]
    ddb.put_item(TableName=table, Item=five)
    ddb.put_item(TableName=table, Item=six)
    assert _first_bad(audit_log, tenant) == (shard, 5, Reason.hash_mismatch)


def test_rehashed_forgery_breaks_the_next_link(audit_log, ddb, chain):
    # an intruder who knows the algorithm recomputes the hash of the entry they changed;
    # the next entry still points at the original
    table, tenant, shard = chain
    item = _get(ddb, table, shard, 7)
    fields = _fields(item) | {"actor": "intruder@example"}
    forged = entry_hash(fields, shard, 7, item["prev_hash"]["S"])
    _set(ddb, table, shard, 7, "actor", {"S": "intruder@example"})
    _set(ddb, table, shard, 7, "hash", {"S": forged})
    assert _first_bad(audit_log, tenant) == (shard, 8, Reason.broken_link)


def test_shortened_retention_is_reported(audit_log, ddb, chain):
    table, tenant, shard = chain
    soon = int((datetime.now(UTC) + timedelta(days=30)).timestamp())
    _set(ddb, table, shard, 2, "ttl", {"N": str(soon)})
    assert _first_bad(audit_log, tenant) == (shard, 2, Reason.ttl_too_early)


def test_first_bad_is_the_earliest_shard_and_filters_narrow_the_walk(audit_log, ddb, tenant, events, shard):
    day_one = datetime(2026, 5, 1, 8, tzinfo=UTC)
    day_two = day_one + timedelta(days=1)
    audit_log.append_many(events(tenant, 5, at=day_one) + events(tenant, 5, at=day_two))
    table = audit_log.config.table_name
    _set(ddb, table, shard(tenant, day_two), 2, "source", {"S": "edited"})
    _set(ddb, table, shard(tenant, day_one), 4, "source", {"S": "edited"})

    report = verify(audit_log, tenant=tenant)
    assert (report.first_bad.shard, report.first_bad.seq) == (shard(tenant, day_one), 4)
    assert [(b.shard, b.seq) for b in report.failures] == [
        (shard(tenant, day_one), 4),
        (shard(tenant, day_two), 2),
    ]
    later = verify(audit_log, tenant=tenant, since=day_two.date())
    assert (later.first_bad.shard, later.first_bad.seq, later.shards_checked) == (
        shard(tenant, day_two),
        2,
        1,
    )
    assert verify(audit_log, tenant=tenant, since="2026-05-03").shards_checked == 0
    assert verify(audit_log, tenant=f"{tenant}-other").shards_checked == 0


def test_report_serializes_for_the_cli(audit_log, ddb, chain):
    table, tenant, shard = chain
    _set(ddb, table, shard, 3, "purpose", {"S": "curiosity"})
    out = verify(audit_log, tenant=tenant).to_dict()
    assert out["ok"] is False
    assert out["first_bad"]["shard"] == shard and out["first_bad"]["seq"] == 3
    assert out["first_bad"]["reason"] == "hash mismatch"


def test_item_outside_any_shard_is_reported(audit_log, ddb, chain):
    table, tenant, shard = chain
    stray = dict(_get(ddb, table, shard, 1), shard={"S": f"{tenant}#not-a-day"})
    ddb.put_item(TableName=table, Item=stray)
    assert _first_bad(audit_log, tenant) == (f"{tenant}#not-a-day", 0, Reason.broken_link)


def test_since_takes_the_utc_day_of_an_aware_datetime(audit_log, tenant, events, shard):
    day = datetime(2026, 7, 2, 1, 0, tzinfo=UTC)
    audit_log.append_many(events(tenant, 2, at=day))
    # 21:00 on 1 July in New York is already 2 July in UTC
    evening = datetime(2026, 7, 1, 21, 0, tzinfo=timezone(timedelta(hours=-4)))
    assert verify(audit_log, tenant=tenant, since=evening).shards_checked == 1
    assert verify(audit_log, tenant=tenant, since=day + timedelta(days=1)).shards_checked == 0
