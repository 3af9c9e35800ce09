"""Single events through the buffered writer: batched into blocks, flushed on size, time and close,
and nothing lost or repeated when a flush fails."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from pynamodb.exceptions import TransactWriteError

from audit import AuditLog, BufferedAuditLog, PHIRejected, verify
from medcore.access import Principal, Role

pytestmark = pytest.mark.integration


def _ids(log: AuditLog, tenant: str) -> list[str]:
    return [r.event.resource_id for r in log.read(Principal("admin@t", tenant, Role.admin), tenant)]


def test_single_events_go_out_in_blocks_in_order(audit_log, raw, tenant, events, shard):
    other = f"{tenant}-b"
    mine, theirs = events(tenant, 300), events(other, 40)
    with audit_log.buffered(max_events=100, max_delay_s=10) as buffered:
        for i, event in enumerate(mine):
            buffered.append(event)
            if i < len(theirs):
                buffered.append(theirs[i])
    assert buffered.pending == 0 and buffered.appended == 340
    assert _ids(audit_log, tenant) == [e.resource_id for e in mine]
    assert _ids(audit_log, other) == [e.resource_id for e in theirs]
    # far fewer items than events: one block per flush and shard
    assert 1 < len(raw.blocks(shard(tenant))) < 20
    report = verify(audit_log, tenant=tenant)
    assert report.ok and report.events_checked == 300


def test_a_lone_event_is_flushed_by_time_without_close(audit_log, tenant, events):
    buffered = BufferedAuditLog(audit_log, max_events=250, max_delay_s=0.05)
    try:
        buffered.append(events(tenant, 1)[0])
        deadline = time.monotonic() + 20
        while buffered.pending and time.monotonic() < deadline:
            time.sleep(0.02)
        assert buffered.pending == 0
        assert _ids(audit_log, tenant) == ["enc-00000"]
    finally:
        buffered.close()


def test_phi_is_refused_at_append_and_nothing_queued(audit_log, tenant, events):
    good, bad = events(tenant, 2)
    with audit_log.buffered() as buffered:
        with pytest.raises(PHIRejected):
            buffered.append_many([good, bad.model_copy(update={"detail": {"note": "chest pain since Monday"}})])
        assert buffered.pending == 0
    assert _ids(audit_log, tenant) == []


def test_a_failed_flush_keeps_what_did_not_commit_and_appends_it_once(audit_config, tenant, events, monkeypatch):
    log = AuditLog(audit_config)
    sent = events(tenant, 600)  # three transactions of up to 250
    real = log._append_batch
    calls = []

    def failing_second(shard, batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise TransactWriteError("simulated: the store went away")
        return real(shard, batch)

    monkeypatch.setattr(log, "_append_batch", failing_second)
    buffered = BufferedAuditLog(log, max_events=1000, max_delay_s=60)
    buffered.append_many(sent)
    with pytest.raises(TransactWriteError):
        buffered.flush()
    assert buffered.appended == 250 and buffered.pending == 350  # the first transaction went in
    buffered.close()  # the store is back: the rest goes in on top of the re-read head
    assert buffered.pending == 0 and buffered.appended == 600
    assert _ids(log, tenant) == [e.resource_id for e in sent]  # every event once, in order
    assert verify(log, tenant=tenant).events_checked == 600


def test_a_writer_racing_the_buffer_is_built_upon_not_forked(audit_config, tenant, events, shard):
    direct, buffered_log = AuditLog(audit_config), AuditLog(audit_config)
    sent = events(tenant, 120)
    with buffered_log.buffered(max_events=7, max_delay_s=0.01) as buffered:
        for i, event in enumerate(sent):
            (buffered.append if i % 3 else direct.append)(event)
    ids = _ids(direct, tenant)
    assert sorted(ids) == sorted(e.resource_id for e in sent)
    report = verify(direct, tenant=tenant)
    assert report.ok and report.events_checked == 120


def test_an_unknown_outcome_that_committed_is_not_appended_twice(audit_config, tenant, events, monkeypatch):
    # the transaction commits but the caller sees an error (a timeout on the reply): the head decides
    log = AuditLog(audit_config)
    log.append(events(tenant, 1)[0])
    connection = log.models.connection
    real = connection.transact_write_items

    def commit_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise TransactWriteError("simulated: reply lost")

    monkeypatch.setattr(connection, "transact_write_items", commit_then_fail)
    later = events(tenant, 5, at=events(tenant, 1)[0].at + timedelta(minutes=1))
    results = log.append_many(later)
    monkeypatch.undo()
    assert [r.seq for r in results] == [2, 3, 4, 5, 6]
    assert len(_ids(log, tenant)) == 6
    assert verify(log, tenant=tenant).ok
