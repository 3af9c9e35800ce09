"""Signed, anchored digests: Object Lock, truncation found against them, the digest chain checked,
and inclusion proofs from an event to an anchored Merkle root."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import DigestError, Reason, check_proof, verify
from audit.digest import Digests, climb, leaf_hash, merkle_path, merkle_root
from tests.audit.conftest import rehashed, split

pytestmark = pytest.mark.integration


def test_digest_is_signed_and_anchored_under_object_lock(digest_log, digests, tenant, events, shard):
    digest_log.append_many(events(tenant, 4))
    result = digests.create()
    assert result.shards >= 1 and result.number >= 1
    s3, bucket = digests.s3, digest_log.config.digest_bucket
    head = s3.head_object(Bucket=bucket, Key=result.key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] >= datetime.now(UTC) + timedelta(days=6 * 365)
    doc = json.loads(s3.get_object(Bucket=bucket, Key=result.key)["Body"].read())
    assert {"shard": shard(tenant), "seq": 4, "head": doc["shards"][0]["head"]} in doc["shards"]
    with pytest.raises(s3.exceptions.ClientError):  # locked: not even the owner deletes it
        s3.delete_object(Bucket=bucket, Key=result.key, VersionId=head["VersionId"])
    count, bad = digests.check_chain()
    assert count == result.number and bad == []
    # an unchanged table still gets a digest (time passes), listing nothing new
    again = digests.create()
    assert again.number == result.number + 1 and again.shards == 0


def test_tail_cut_with_the_head_moved_back_is_found_only_with_digests(
    digest_log, digests, raw_digest, tenant, events, shard
):
    sent = events(tenant, 10)
    digest_log.append_many(sent[:6])
    digest_log.append_many(sent[6:])  # blocks 1-6 and 7-10: the cut goes through the second
    digests.create()
    raw_digest.truncate(shard(tenant), keep=7, move_head=True)

    assert verify(digest_log, tenant=tenant).ok  # the chain alone is consistent
    report = verify(digest_log, tenant=tenant, digests=digests)
    assert not report.ok
    bad = report.first_bad
    assert (bad.shard, bad.seq, bad.reason) == (shard(tenant), 8, Reason.truncated)
    # a later digest does not launder the truncation
    assert shard(tenant) in digests.create().regressed
    assert verify(digest_log, tenant=tenant, digests=digests).first_bad.reason == Reason.truncated


def test_deleted_shard_that_a_digest_lists_is_found(digest_log, digests, raw_digest, tenant, events, shard):
    digest_log.append_many(events(tenant, 3))
    digests.create()
    raw_digest.truncate(shard(tenant), keep=0, move_head=True)
    report = verify(digest_log, tenant=tenant, digests=digests)
    assert (report.first_bad.shard, report.first_bad.seq, report.first_bad.reason) == (
        shard(tenant),
        1,
        Reason.truncated,
    )
    assert report.shards_checked == 1


def test_consistent_rewrite_of_history_is_an_anchor_mismatch(digest_log, digests, raw_digest, tenant, events, shard):
    # an intruder who knows the algorithm rewrites seq 3 and re-hashes everything after it, head included
    where = shard(tenant)
    sent = events(tenant, 6)
    digest_log.append_many(sent[:4])
    digest_log.append_many(sent[4:])
    digests.create()
    prev = raw_digest.entry(where, 2)[2][:64]
    for seq in range(3, 7):
        _digest, _prev, body = split(raw_digest.entry(where, seq)[2])
        if seq == 3:
            body["actor"] = "intruder@example"
        line = rehashed(prev, body)
        raw_digest.set_line(where, seq, line)
        prev = line[:64]
    raw_digest.move_head(where, 6, prev)

    assert verify(digest_log, tenant=tenant).ok
    bad = verify(digest_log, tenant=tenant, digests=digests).first_bad
    assert (bad.shard, bad.seq, bad.reason) == (where, 6, Reason.anchor_mismatch)


def test_forged_or_untrusted_digest_is_reported(digest_log, tmp_path, tenant, events):
    from dataclasses import replace

    from audit import AuditLog

    # a chain of digests of its own, so the forgery does not poison the shared one
    config = replace(digest_log.config, digest_bucket=f"{digest_log.config.digest_bucket}-forge")
    store = Digests(AuditLog(config))
    digest_log.append_many(events(tenant, 2))
    first = store.create()
    assert store.check_chain()[1] == []

    bucket, s3 = config.digest_bucket, store.s3
    doc = json.loads(s3.get_object(Bucket=bucket, Key=first.key)["Body"].read())
    doc["shards"] = doc["shards"][1:]  # hide one shard from the record
    # Object Lock keeps the original version; a plain put only adds a newer one
    s3.put_object(Bucket=bucket, Key=first.key, Body=json.dumps(doc).encode())
    count, bad = store.check_chain()
    reasons = {b.reason for b in bad}
    assert "bad signature" in reasons
    assert "object has more than one version (overwritten)" in reasons
    report = verify(digest_log, tenant=tenant, digests=store)
    assert not report.ok and report.digest_failures

    stranger = Digests(AuditLog(replace(config, digest_bucket=f"{config.digest_bucket}-2",
                                        signing_key_path=tmp_path / "other" / "k.pem")))
    stranger.create()
    # the same bucket read by someone trusting only the original key
    trusting = Digests(AuditLog(replace(config, digest_bucket=f"{config.digest_bucket}-2")))
    assert [b.reason for b in trusting.check_chain()[1]] == ["signed by an untrusted key"]


def test_every_event_has_an_inclusion_proof(digest_log, digests, tenant, events, shard):
    other = f"{tenant}-b"
    results = digest_log.append_many(events(tenant, 5) + events(other, 4))
    results += digest_log.append_many(events(tenant, 9)[5:])  # the proofs cross a block boundary
    with pytest.raises(DigestError):
        digests.prove(results[0])  # not anchored yet
    digests.create()
    for result in results:
        proof = digests.prove(result)
        assert proof.event_hash == result.hash
        assert check_proof(proof, proof.root)
        assert digests.verify_proof(proof)
        assert not check_proof(proof, "0" * 64)
    # the same proof, a tampered event: fails
    proof = digests.prove(f"{shard(tenant)}:4")
    forged = type(proof).from_dict(json.loads(json.dumps(proof.to_dict())) | {
        "event": proof.event | {"actor": "intruder@example"}})
    assert check_proof(type(proof).from_dict(proof.to_dict()), proof.root)
    assert not check_proof(forged, proof.root)
    # events appended after the digest are proven by the next one
    late = digest_log.append_many(events(tenant, 1, at=datetime(2026, 3, 14, 18, tzinfo=UTC)))[0]
    assert late.seq == 10
    digests.create()
    proof = digests.prove(late)
    assert check_proof(proof, proof.root) and proof.chain == []


@settings(max_examples=60, deadline=None, database=None)
@given(n=st.integers(min_value=1, max_value=70), data=st.data())
def test_merkle_paths_lead_to_the_root_and_nowhere_else(n, data):
    leaves = [leaf_hash(f"t#2026-01-{i % 28 + 1:02d}", i, f"{i:064x}") for i in range(n)]
    root = merkle_root(leaves)
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    path = merkle_path(leaves, index)
    assert climb(leaves[index], path) == root
    if n > 1:
        other = data.draw(st.integers(min_value=0, max_value=n - 1).filter(lambda j: j != index))
        assert climb(leaves[other], path) != root
        step = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
        side, sibling = path[step]
        flipped = path[:step] + [("L" if side == "R" else "R", sibling)] + path[step + 1 :]
        assert climb(leaves[index], flipped) != root or leaves[index].hex() == sibling
