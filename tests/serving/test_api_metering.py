"""Units, limits and exactly-once metering against DynamoDB Local."""

from __future__ import annotations

import socket
import threading
import uuid

import pytest

from serving.api.limits import RateLimiter
from serving.api.metering import Outcome, UsageMeter, seconds_to_next_period, units_for


@pytest.mark.parametrize(("chars", "units"), [(0, 1), (1, 1), (100, 1), (101, 2), (250, 3), (1000, 10)])
def test_units_are_100_characters_min_1(chars, units):
    assert units_for(chars) == units


def test_rate_limiter_refills():
    now = [0.0]
    lim = RateLimiter(clock=lambda: now[0])
    assert lim.take("t", rate_per_s=1, burst=2) == 0
    assert lim.take("t", rate_per_s=1, burst=2) == 0
    assert lim.take("t", rate_per_s=1, burst=2) == 1
    assert lim.take("other", rate_per_s=1, burst=2) == 0
    now[0] = 1.0
    assert lim.take("t", rate_per_s=1, burst=2) == 0


def test_seconds_to_next_period():
    from datetime import UTC, datetime

    assert seconds_to_next_period(datetime(2026, 12, 31, 23, 59, 0, tzinfo=UTC)) == 60


def _dynamo_up() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", 8765)) == 0


@pytest.mark.integration
@pytest.mark.skipif(not _dynamo_up(), reason="DynamoDB Local is not running")
def test_meter_counts_once_under_concurrency_and_keeps_the_quota():
    meter = UsageMeter(table=f"test-meter-{uuid.uuid4().hex[:8]}")
    outcomes: list[Outcome] = []
    threads = [threading.Thread(target=lambda: outcomes.append(meter.record("t1", "k1", 3, 1))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == sorted([Outcome.counted] + [Outcome.duplicate] * 7)
    u = meter.usage("t1")
    assert (u.units, u.notes, u.requests, u.total_units) == (3, 1, 1, 3)
    # quota 5: 3 used, 2 more fit, then nothing; other tenants are separate
    assert meter.record("t1", "k2", 2, 1, quota_units=5) is Outcome.counted
    assert meter.record("t1", "k3", 1, 1, quota_units=5) is Outcome.over_quota
    assert meter.usage("t1").units == 5
    assert meter.record("t2", "k1", 1, 1) is Outcome.counted
    assert meter.usage("t2").units == 1
