"""Verifying: each kind of tampering, done with plain boto3 on the stored blocks, is found and named
by shard and seq: inside a block (one entry modified, deleted, inserted, reordered, rehashed) and at
block granularity (a block deleted, swapped, re-keyed, or given a short TTL), and at the head."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from audit import Reason, verify
from audit.verify import verify_items
from tests.audit.conftest import rehashed, split

pytestmark = pytest.mark.integration


@pytest.fixture
def chain(audit_log, tenant, events, shard):
    """A fresh 20-event chain in four blocks (1-5, 6-10, 11-15, 16-20): (raw table, tenant, shard)."""
    sent = events(tenant, 20)
    for start in range(0, 20, 5):
        audit_log.append_many(sent[start : start + 5])
    assert verify(audit_log, tenant=tenant).ok
    return tenant, shard(tenant)


def _first_bad(audit_log, tenant):
    report = verify(audit_log, tenant=tenant)
    assert not report.ok
    assert report.first_bad == report.failures[0]
    return report.first_bad.shard, report.first_bad.seq, report.first_bad.reason


def _edit(raw, shard, seq, **changes):
    """Entry ``seq`` with fields changed in its canonical JSON, its stored hash left as it was."""
    digest, prev, body = split(raw.entry(shard, seq)[2])
    raw.set_line(shard, seq, f"{digest} {prev} " + rehashed(prev, body | changes)[130:])


def test_modified_field_inside_a_block_is_a_hash_mismatch(audit_log, raw, chain):
    tenant, shard = chain
    _edit(raw, shard, 13, actor="someone-else@clinic.example")
    assert _first_bad(audit_log, tenant) == (shard, 13, Reason.hash_mismatch)


@pytest.mark.parametrize("part", [slice(0, 64), slice(65, 129)], ids=["hash", "prev_hash"])
def test_modified_stored_hash_or_link_is_a_hash_mismatch(audit_log, raw, chain, part):
    tenant, shard = chain
    line = raw.entry(shard, 7)[2]
    old = line[part]
    raw.set_line(shard, 7, line[: part.start] + ("f" if old[0] != "f" else "e") + old[1:] + line[part.stop :])
    assert _first_bad(audit_log, tenant) == (shard, 7, Reason.hash_mismatch)


def test_changed_attribute_type_is_reported_not_raised(audit_log, raw, chain):
    tenant, shard = chain
    raw.set(shard, 6, "entries", {"N": "4"})
    assert _first_bad(audit_log, tenant) == (shard, 6, Reason.hash_mismatch)


def test_deleted_entry_inside_a_block_is_a_gap(audit_log, raw, chain):
    tenant, shard = chain
    block, index, _ = raw.entry(shard, 8)
    lines = raw.lines(block)
    raw.put_lines(block, lines[:index] + lines[index + 1 :])
    assert _first_bad(audit_log, tenant) == (shard, 8, Reason.gap)


def test_deleted_block_in_the_middle_is_a_gap_at_its_first_seq(audit_log, raw, chain):
    tenant, shard = chain
    raw.delete(shard, 6)
    assert _first_bad(audit_log, tenant) == (shard, 6, Reason.gap)


def test_deleted_last_entry_and_last_block_are_head_mismatches(audit_log, raw, chain):
    tenant, shard = chain
    block, _, _ = raw.entry(shard, 20)
    raw.put_lines(block, raw.lines(block)[:-1])
    assert _first_bad(audit_log, tenant) == (shard, 20, Reason.head_mismatch)
    raw.delete(shard, 16)
    assert _first_bad(audit_log, tenant) == (shard, 16, Reason.head_mismatch)


def test_copied_entry_past_the_head_is_caught(audit_log, raw, chain):
    # the last line copied into a new block after it: its own hash holds, but it names seq 20
    tenant, shard = chain
    block = raw.block_of(shard, 20)
    raw.ddb.put_item(TableName=raw.table, Item=block | {"seq": {"N": "21"}, "entries": {"S": raw.lines(block)[-1]}})
    assert _first_bad(audit_log, tenant) == (shard, 21, Reason.broken_link)


def test_well_forged_entry_past_the_head_is_a_head_mismatch(audit_log, raw, chain):
    # hash, link and seq all right: only the head, moved by transactions alone, gives it away
    tenant, shard = chain
    block, _, line = raw.entry(shard, 20)
    digest, _prev, body = split(line)
    forged = rehashed(digest, body | {"seq": 21})
    raw.put_lines(block, raw.lines(block) + [forged])
    assert _first_bad(audit_log, tenant) == (shard, 21, Reason.head_mismatch)


def test_inserted_entry_breaks_the_next_link(audit_log, raw, chain):
    # a forged line that links and hashes correctly takes seq 9's place; the real seq 9 moves to 10
    tenant, shard = chain
    block, index, line = raw.entry(shard, 9)
    _digest, prev, body = split(line)
    lines = raw.lines(block)
    raw.put_lines(block, lines[:index] + [rehashed(prev, body | {"actor": "intruder@example"})] + lines[index:])
    assert _first_bad(audit_log, tenant) == (shard, 10, Reason.broken_link)


def test_deleted_head_is_a_head_mismatch(audit_log, raw, chain):
    tenant, shard = chain
    raw.delete(shard, 0)
    assert _first_bad(audit_log, tenant) == (shard, 0, Reason.head_mismatch)


def test_swapped_entries_are_caught_at_the_first(audit_log, raw, chain):
    tenant, shard = chain
    block = raw.block_of(shard, 12)
    lines = raw.lines(block)
    lines[1], lines[2] = lines[2], lines[1]  # seqs 12 and 13
    raw.put_lines(block, lines)
    assert _first_bad(audit_log, tenant) == (shard, 12, Reason.gap)


def test_swapped_blocks_are_caught_at_the_first(audit_log, raw, chain):
    tenant, shard = chain
    one, two = raw.block_of(shard, 6), raw.block_of(shard, 11)
    raw.put_lines(one, raw.lines(two))
    raw.put_lines(two, raw.lines(one))
    assert _first_bad(audit_log, tenant) == (shard, 6, Reason.gap)


def test_rekeyed_block_is_caught(audit_log, raw, chain):
    tenant, shard = chain
    block = raw.block_of(shard, 11)
    raw.delete(shard, 11)
    raw.ddb.put_item(TableName=raw.table, Item=block | {"seq": {"N": "11.5"}})
    assert _first_bad(audit_log, tenant) == (shard, 11, Reason.broken_link)
    raw.delete(shard, "11.5")
    raw.ddb.put_item(TableName=raw.table, Item=block | {"seq": {"N": "12"}})
    assert _first_bad(audit_log, tenant) == (shard, 11, Reason.gap)


def test_entry_moved_to_another_seq_is_a_broken_link(audit_log, raw, chain):
    # seq 3's line, rehashed with seq 4 written into it, replaces seq 4
    tenant, shard = chain
    digest3, _p, body3 = split(raw.entry(shard, 3)[2])
    raw.set_line(shard, 4, rehashed(digest3, body3 | {"seq": 3}))
    assert _first_bad(audit_log, tenant) == (shard, 4, Reason.broken_link)


def test_rehashed_forgery_breaks_the_next_link(audit_log, raw, chain):
    # an intruder who knows the algorithm recomputes the hash of the entry they changed;
    # the next entry still points at the original
    tenant, shard = chain
    _digest, prev, body = split(raw.entry(shard, 7)[2])
    raw.set_line(shard, 7, rehashed(prev, body | {"actor": "intruder@example"}))
    assert _first_bad(audit_log, tenant) == (shard, 8, Reason.broken_link)


def test_rehashed_forgery_at_a_block_boundary_breaks_the_next_blocks_link(audit_log, raw, chain):
    tenant, shard = chain
    _digest, prev, body = split(raw.entry(shard, 10)[2])
    raw.set_line(shard, 10, rehashed(prev, body | {"actor": "intruder@example"}))
    assert _first_bad(audit_log, tenant) == (shard, 11, Reason.broken_link)


def test_shortened_retention_of_a_block_or_the_head_is_reported(audit_log, raw, chain):
    tenant, shard = chain
    soon = {"N": str(int((datetime.now(UTC) + timedelta(days=30)).timestamp()))}
    raw.set(shard, 0, "ttl", soon)
    assert _first_bad(audit_log, tenant) == (shard, 0, Reason.ttl_too_early)
    raw.set(shard, 11, "ttl", soon)
    assert _first_bad(audit_log, tenant) == (shard, 11, Reason.ttl_too_early)


def test_head_hash_altered_is_a_head_mismatch(audit_log, raw, chain):
    tenant, shard = chain
    head = raw.head(shard)["last_hash"]["S"]
    raw.move_head(shard, 20, ("0" if head[0] != "0" else "1") + head[1:])
    assert _first_bad(audit_log, tenant) == (shard, 20, Reason.head_mismatch)


def test_first_bad_is_the_earliest_shard_and_filters_narrow_the_walk(audit_log, raw, tenant, events, shard):
    day_one = datetime(2026, 5, 1, 8, tzinfo=UTC)
    day_two = day_one + timedelta(days=1)
    audit_log.append_many(events(tenant, 5, at=day_one) + events(tenant, 5, at=day_two))
    _edit(raw, shard(tenant, day_two), 2, source="edited")
    _edit(raw, shard(tenant, day_one), 4, source="edited")

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


def test_report_serializes_for_the_cli(audit_log, raw, chain):
    tenant, shard = chain
    _edit(raw, shard, 3, purpose="curiosity")
    out = verify(audit_log, tenant=tenant).to_dict()
    assert out["ok"] is False
    assert out["first_bad"]["shard"] == shard and out["first_bad"]["seq"] == 3
    assert out["first_bad"]["reason"] == "hash mismatch"


def test_item_outside_any_shard_is_reported(audit_log, raw, chain):
    tenant, shard = chain
    stray = dict(raw.block_of(shard, 1), shard={"S": f"{tenant}#not-a-day"})
    raw.ddb.put_item(TableName=raw.table, Item=stray)
    assert _first_bad(audit_log, tenant) == (f"{tenant}#not-a-day", 0, Reason.broken_link)


def test_since_takes_the_utc_day_of_an_aware_datetime(audit_log, tenant, events, shard):
    day = datetime(2026, 7, 2, 1, 0, tzinfo=UTC)
    audit_log.append_many(events(tenant, 2, at=day))
    # 21:00 on 1 July in New York is already 2 July in UTC
    evening = datetime(2026, 7, 1, 21, 0, tzinfo=timezone(timedelta(hours=-4)))
    assert verify(audit_log, tenant=tenant, since=evening).shards_checked == 1
    assert verify(audit_log, tenant=tenant, since=day + timedelta(days=1)).shards_checked == 0


def test_block_layout_does_not_change_the_verdict(audit_log, raw, chain):
    # the same entries regrouped into other blocks are the same chain: the layout is not hashed
    tenant, shard = chain
    items = raw.items(shard)
    head = next(i for i in items if i["seq"]["N"] == "0")
    lines = [line for b in sorted(raw.blocks(shard), key=lambda b: int(b["seq"]["N"])) for line in raw.lines(b)]
    template = raw.block_of(shard, 1)
    regrouped = [template | {"seq": {"N": "1"}, "entries": {"S": "\n".join(lines[:13])}},
                 template | {"seq": {"N": "14"}, "entries": {"S": "\n".join(lines[13:])}}]
    assert verify_items(None, shard, [head, *regrouped]) == (20, None)
    # and the same check offline finds what verify finds
    _edit(raw, shard, 5, actor="x")
    checked, bad = verify_items(None, shard, raw.items(shard))
    assert (checked, bad.seq, bad.reason) == (5, 5, Reason.hash_mismatch)


@pytest.mark.parametrize("seen", ["old head, new block", "new head, no new block"])
def test_a_live_append_during_verify_is_not_reported(audit_log, raw, tenant, events, shard, monkeypatch, seen):
    # a scan is not a snapshot: it may read a shard's head before an append and its blocks after, or
    # miss the new block; the head and the tail are then re-read before anything is called broken
    v = importlib.import_module("audit.verify")  # the package's `verify` attribute is the function

    audit_log.append_many(events(tenant, 5))
    stale_head = raw.head(shard(tenant))
    audit_log.append_many(events(tenant, 3, at=events(tenant, 1)[0].at + timedelta(hours=1)))
    real_scan = v._scan

    def racing_scan(*args, **kwargs):
        for segment, page in real_scan(*args, **kwargs):
            mine = [i for i in page if i["shard"]["S"] == shard(tenant)]
            rest = [i for i in page if i["shard"]["S"] != shard(tenant)]
            if seen == "old head, new block":
                mine = [stale_head if i["seq"]["N"] == "0" else i for i in mine]
            else:
                mine = [i for i in mine if i["seq"]["N"] != "6"]
            yield segment, rest + mine

    monkeypatch.setattr(v, "_scan", racing_scan)
    report = verify(audit_log, tenant=tenant)
    assert report.ok, report.first_bad
    assert report.events_checked == 8
