"""Property: any single tampering, at any position of any chain length, is found at that seq."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import Reason, verify

pytestmark = pytest.mark.integration

STRING_FIELDS = (
    "tenant_id",
    "actor",
    "resource_type",
    "resource_id",
    "purpose",
    "source",
    "prev_hash",
    "hash",
)
TAMPERINGS = (*STRING_FIELDS, "action", "at", "detail", "ttl", "remove", "delete")


def _key(shard: str, seq: int) -> dict:
    return {"shard": {"S": shard}, "seq": {"N": str(seq)}}


def _tamper(ddb, table: str, shard: str, seq: int, how: str, item: dict) -> None:
    key = _key(shard, seq)
    if how == "delete":
        ddb.delete_item(TableName=table, Key=key)
        return
    if how == "remove":
        ddb.update_item(TableName=table, Key=key, UpdateExpression="REMOVE actor")
        return
    if how in STRING_FIELDS:
        old = item[how]["S"]
        value = {"S": old[:-1] + ("0" if old[-1] != "0" else "1")}  # same length, one character off
    elif how == "action":
        value = {"S": "export" if item["action"]["S"] != "export" else "read"}
    elif how == "at":
        at = datetime.fromisoformat(item["at"]["S"]) + timedelta(microseconds=1)
        value = {"S": at.isoformat(timespec="microseconds")}
    elif how == "detail":
        value = {"M": item["detail"]["M"] | {"stage": {"S": "edited"}}}
    else:  # ttl: expire in a year instead of six
        value = {"N": str(int((datetime.now(UTC) + timedelta(days=365)).timestamp()))}
    ddb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #a = :v",
        ExpressionAttributeNames={"#a": how},
        ExpressionAttributeValues={":v": value},
    )


@settings(max_examples=25, deadline=None, database=None)
@given(data=st.data())
def test_any_single_tampering_is_found_at_its_seq(audit_log, ddb, events, shard, data):
    length = data.draw(st.integers(min_value=1, max_value=12), label="chain length")
    seq = data.draw(st.integers(min_value=1, max_value=length), label="tampered seq")
    how = data.draw(st.sampled_from(TAMPERINGS), label="tampering")
    tenant = f"prop-{uuid.uuid4().hex[:12]}"  # each example its own chain
    audit_log.append_many(events(tenant, length))
    table, where = audit_log.config.table_name, shard(tenant)
    item = ddb.get_item(TableName=table, Key=_key(where, seq), ConsistentRead=True)["Item"]

    _tamper(ddb, table, where, seq, how, item)

    report = verify(audit_log, tenant=tenant)
    assert not report.ok
    assert (report.first_bad.shard, report.first_bad.seq) == (where, seq)
    if how == "delete":
        expected = Reason.gap if seq < length else Reason.head_mismatch
    elif how == "ttl":
        expected = Reason.ttl_too_early
    else:
        expected = Reason.hash_mismatch
    assert report.first_bad.reason == expected
    assert report.events_checked == (seq - 1 if how == "delete" and seq == length else seq)


@settings(max_examples=20, deadline=None, database=None)
@given(data=st.data())
def test_any_truncation_after_a_digest_is_found_at_its_first_missing_seq(digest_log, digests, ddb, events, shard, data):
    length = data.draw(st.integers(min_value=1, max_value=12), label="chain length")
    keep = data.draw(st.integers(min_value=0, max_value=length - 1), label="events kept")
    move_head = data.draw(st.booleans(), label="head moved back consistently")
    tenant = f"trunc-{uuid.uuid4().hex[:12]}"
    digest_log.append_many(events(tenant, length))
    digests.create()
    table, where = digest_log.config.table_name, shard(tenant)
    for seq in range(keep + 1, length + 1):
        ddb.delete_item(TableName=table, Key=_key(where, seq))
    if move_head and keep:
        last = ddb.get_item(TableName=table, Key=_key(where, keep), ConsistentRead=True)["Item"]["hash"]["S"]
        ddb.update_item(
            TableName=table,
            Key=_key(where, 0),
            UpdateExpression="SET last_seq = :s, last_hash = :h",
            ExpressionAttributeValues={":s": {"N": str(keep)}, ":h": {"S": last}},
        )
    elif move_head:
        ddb.delete_item(TableName=table, Key=_key(where, 0))  # the whole shard is gone

    if move_head:
        assert verify(digest_log, tenant=tenant).ok  # invisible to the chain alone
    report = verify(digest_log, tenant=tenant, digests=digests)
    assert not report.ok
    assert (report.first_bad.shard, report.first_bad.seq) == (where, keep + 1)
    assert report.first_bad.reason == (Reason.truncated if move_head else Reason.head_mismatch)
