"""Property: any single tampering, at any entry of any chain cut into any blocks, is found at that seq."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import Reason, verify
from tests.audit.conftest import join, split

pytestmark = pytest.mark.integration

FIELD_EDITS = ("tenant_id", "actor", "resource_type", "resource_id", "purpose", "source", "action", "at", "detail")
TAMPERINGS = (*FIELD_EDITS, "hash", "prev_hash", "ttl", "remove", "delete", "delete_block", "swap")


def _edited(body: dict, name: str) -> dict:
    old = body[name]
    if name == "action":
        new = "export" if old != "export" else "read"
    elif name == "at":
        new = (datetime.fromisoformat(old) + timedelta(microseconds=1)).isoformat(timespec="microseconds")
    elif name == "detail":
        new = old | {"stage": "edited"}
    else:
        new = old[:-1] + ("0" if old[-1] != "0" else "1")  # same length, one character off
    return body | {name: new}


def _tamper(raw, shard: str, seq: int, length: int, how: str) -> tuple[int, Reason]:
    """Do it; return where and why verify must report it."""
    block, index, line = raw.entry(shard, seq)
    first = int(block["seq"]["N"])
    lines = raw.lines(block)
    last_block = first + len(lines) - 1 == length
    if how in FIELD_EDITS:
        digest, prev, body = split(line)
        raw.set_line(shard, seq, join(digest, prev, _edited(body, how)))
        return seq, Reason.hash_mismatch
    if how in ("hash", "prev_hash"):
        at = 0 if how == "hash" else 65
        raw.set_line(shard, seq, line[:at] + ("0" if line[at] != "0" else "1") + line[at + 1 :])
        return seq, Reason.hash_mismatch
    if how == "ttl":  # expire in a year instead of six
        raw.set(shard, first, "ttl", {"N": str(int((datetime.now(UTC) + timedelta(days=365)).timestamp()))})
        return first, Reason.ttl_too_early
    if how == "remove":
        raw.ddb.update_item(TableName=raw.table, Key=raw.key(shard, first), UpdateExpression="REMOVE entries")
        return first, Reason.hash_mismatch
    if how == "delete":
        raw.put_lines(block, lines[:index] + lines[index + 1 :])
        return seq, Reason.gap if seq < length else Reason.head_mismatch
    if how == "delete_block":
        raw.delete(shard, first)
        return first, Reason.head_mismatch if last_block else Reason.gap
    # swap with the next entry (the previous one for the last), possibly across a block boundary
    other = seq + 1 if seq < length else seq - 1
    other_line = raw.entry(shard, other)[2]
    raw.set_line(shard, seq, other_line)
    raw.set_line(shard, other, line)
    return min(seq, other), Reason.gap


@settings(max_examples=30, deadline=None, database=None)
@given(data=st.data())
def test_any_single_tampering_is_found_at_its_seq(audit_log, raw, events, shard, data):
    sizes = data.draw(st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=5), label="block sizes")
    length = sum(sizes)
    seq = data.draw(st.integers(min_value=1, max_value=length), label="tampered seq")
    how = data.draw(st.sampled_from(TAMPERINGS if length > 1 else TAMPERINGS[:-1]), label="tampering")
    tenant = f"prop-{uuid.uuid4().hex[:12]}"  # each example its own chain
    sent, start = events(tenant, length), 0
    for size in sizes:
        audit_log.append_many(sent[start : start + size])
        start += size
    where = shard(tenant)
    assert len(raw.blocks(where)) == len(sizes)

    expected = _tamper(raw, where, seq, length, how)

    report = verify(audit_log, tenant=tenant)
    assert not report.ok
    assert (report.first_bad.shard, report.first_bad.seq, report.first_bad.reason) == (where, *expected)
    if how in (*FIELD_EDITS, "hash", "prev_hash"):
        assert report.events_checked == seq


@settings(max_examples=20, deadline=None, database=None)
@given(data=st.data())
def test_any_truncation_after_a_digest_is_found_at_its_first_missing_seq(
    digest_log, digests, raw_digest, events, shard, data
):
    sizes = data.draw(st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=4), label="block sizes")
    length = sum(sizes)
    keep = data.draw(st.integers(min_value=0, max_value=length - 1), label="events kept")
    move_head = data.draw(st.booleans(), label="head moved back consistently")
    tenant = f"trunc-{uuid.uuid4().hex[:12]}"
    sent, start = events(tenant, length), 0
    for size in sizes:
        digest_log.append_many(sent[start : start + size])
        start += size
    digests.create()
    where = shard(tenant)
    raw_digest.truncate(where, keep, move_head)

    if move_head:
        assert verify(digest_log, tenant=tenant).ok  # invisible to the chain alone
    report = verify(digest_log, tenant=tenant, digests=digests)
    assert not report.ok
    assert (report.first_bad.shard, report.first_bad.seq) == (where, keep + 1)
    assert report.first_bad.reason == (Reason.truncated if move_head else Reason.head_mismatch)
