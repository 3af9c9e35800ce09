"""Appending: blocks, chaining, sharding, retention, PHI refusal, concurrent writers, the buffered writer."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from audit import AuditConfig, AuditLog, PHIRejected, verify
from medcore.model import AuditEvent
from tests.audit.conftest import RawTable

pytestmark = pytest.mark.integration

FIELDS = ("tenant_id", "actor", "action", "resource_type", "resource_id", "purpose", "source", "at", "detail")


def test_600_events_cross_the_batch_size_into_blocks_and_verify(audit_log, raw, tenant, events, shard):
    results = audit_log.append_many(events(tenant, 600))

    assert [r.seq for r in results] == list(range(1, 601))
    assert {r.shard for r in results} == {shard(tenant)}
    # one block item per transaction of up to 250 entries, keyed by its first seq
    blocks = raw.blocks(shard(tenant))
    assert [(int(b["seq"]["N"]), len(raw.lines(b))) for b in blocks] == [(1, 250), (251, 250), (501, 100)]
    assert all(len(b["entries"]["S"].encode()) < 400_000 for b in blocks)
    head = raw.head(shard(tenant))
    assert (int(head["last_seq"]["N"]), head["last_hash"]["S"]) == (600, results[-1].hash)
    report = verify(audit_log, tenant=tenant)
    assert report.ok, report.first_bad
    assert (report.events_checked, report.shards_checked) == (600, 1)


def test_long_entries_split_a_batch_into_blocks_under_the_size_cap(audit_log, raw, tenant, events, shard, monkeypatch):
    import audit.chain

    monkeypatch.setattr(audit.chain, "MAX_BLOCK_BYTES", 2_000)  # about four entries of ~450 bytes
    results = audit_log.append_many(events(tenant, 10))
    blocks = raw.blocks(shard(tenant))
    assert len(blocks) > 1
    assert all(len(b["entries"]["S"].encode()) <= 2_000 for b in blocks)
    # the blocks tile the chain: each starts where the previous ended
    starts = [int(b["seq"]["N"]) for b in blocks]
    sizes = [len(raw.lines(b)) for b in blocks]
    assert starts == [1 + sum(sizes[:i]) for i in range(len(blocks))] and sum(sizes) == 10
    assert [r.seq for r in results] == list(range(1, 11))
    assert verify(audit_log, tenant=tenant).ok


def test_hash_follows_the_documented_formula(audit_log, raw, tenant, events, shard):
    # recomputed here from the stored lines, independently of audit.entry and audit.blocks
    sent = events(tenant, 3)
    audit_log.append_many(sent)
    (block,) = raw.blocks(shard(tenant))
    prev = "0" * 64
    for seq, (line, event) in enumerate(zip(raw.lines(block), sent, strict=True), start=1):
        digest, prev_hash, text = line[:64], line[65:129], line[130:]
        body = json.loads(text)
        assert set(body) == set(FIELDS) | {"shard", "seq"}
        assert (body["shard"], body["seq"], body["resource_id"]) == (shard(tenant), seq, event.resource_id)
        # the stored text is the canonical form itself
        assert text == json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert prev_hash == prev
        assert digest == hashlib.sha256(text.encode() + prev.encode()).hexdigest()
        prev = digest


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


def test_ttl_keeps_every_item_at_least_six_years(audit_log, raw, tenant, events, shard):
    at = datetime(2024, 2, 29, 23, 59, 58, tzinfo=UTC)  # a leap day: six years later has no 29 February
    audit_log.append_many(events(tenant, 2, at=at))
    audit_log.append(events(tenant, 1, at=at)[0])
    six_years_later = datetime(2030, 3, 1, 23, 59, 59, tzinfo=UTC).timestamp()
    items = raw.items(shard(tenant, at))
    assert len(items) == 3  # two blocks and the head, which expires with its blocks, never before them
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
    assert len(raw_blocks := RawTable(writers[0].models.client, audit_config.table_name).blocks(shard(tenant))) >= 2
    assert sum(len(RawTable.lines(b)) for b in raw_blocks) == 260


def test_verify_of_a_table_never_created_is_ok(audit_config):
    missing = AuditConfig.from_settings(
        table_name=f"{audit_config.table_name}-never", endpoint=audit_config.endpoint
    )
    report = verify(missing)
    assert report.ok and report.events_checked == 0 and report.first_bad is None
