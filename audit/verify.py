"""Checking the hash chains: every hash, every link, every seq and every head.

What each failure means:

- ``hash mismatch``: an entry's stored fields no longer hash to its stored hash (modified).
- ``broken link``: an entry's ``prev_hash`` is not its predecessor's hash, or its seq is not a
  whole number (reordered, replaced or inserted).
- ``gap``: a seq is missing before the head (deleted).
- ``head mismatch``: the head disagrees with the last event (tail truncated, events written
  past the head, or the head itself altered or deleted).
- ``ttl too early``: an entry may expire before its six-year retention.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pynamodb.exceptions import DoesNotExist

from .chain import AuditLog
from .config import AuditConfig
from .entry import (
    EVENT_FIELDS,
    GENESIS_HASH,
    HEAD_SEQ,
    entry_hash,
    retain_until,
    shard_day,
    shard_tenant,
)
from .models import BoundModels

# a verify that races live appends re-reads the tail this many times before calling it truncated
_TAIL_REREADS = 5


class Reason(StrEnum):
    hash_mismatch = "hash mismatch"
    broken_link = "broken link"
    gap = "gap"
    head_mismatch = "head mismatch"
    ttl_too_early = "ttl too early"


@dataclass(frozen=True)
class BadEntry:
    """The first entry of a shard that failed, and why."""

    shard: str
    seq: int | float
    reason: Reason
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.shard} seq {self.seq}: {self.reason.value}" + (
            f" ({self.detail})" if self.detail else ""
        )


@dataclass
class VerifyReport:
    """The outcome of :func:`verify`.

    Attributes
    ----------
    ok : bool
        True when every checked shard is intact.
    events_checked : int
        Events whose hash and link were examined.
    shards_checked : int
    first_bad : BadEntry or None
        The first failure, shards taken in (day, tenant) order.
    failures : list[BadEntry]
        The first failure of every bad shard.
    """

    ok: bool = True
    events_checked: int = 0
    shards_checked: int = 0
    first_bad: BadEntry | None = None
    failures: list[BadEntry] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for bad in [out["first_bad"], *out["failures"]]:
            if bad is not None:
                bad["reason"] = bad["reason"].value
        return out


def verify(
    log: AuditLog | AuditConfig | str | None = None,
    tenant: str | None = None,
    since: date | datetime | str | None = None,
) -> VerifyReport:
    """Walk every chain in seq order and report the first bad entry.

    Parameters
    ----------
    log : AuditLog, AuditConfig or str, optional
        The log, its configuration, or a table name (other settings from ``medcore.settings``).
        Defaults to the configured table.
    tenant : str, optional
        Only this tenant's shards.
    since : date, datetime or ISO date string, optional
        Only shards of this UTC day or later.

    Returns
    -------
    VerifyReport
        ``ok`` is True for a table that does not exist yet (nothing was logged).
    """
    log = _as_log(log)
    report = VerifyReport()
    if not log.table_exists():
        return report
    floor = _as_date(since)
    for shard in _shards(log.models, tenant, floor):
        report.shards_checked += 1
        checked, bad = _verify_shard(log.models, shard)
        report.events_checked += checked
        if bad is not None:
            report.failures.append(bad)
    if report.failures:
        report.ok = False
        report.first_bad = report.failures[0]
    return report


def _as_log(log: AuditLog | AuditConfig | str | None) -> AuditLog:
    if isinstance(log, AuditLog):
        return log
    if isinstance(log, AuditConfig):
        return AuditLog(log)
    if isinstance(log, str):
        return AuditLog(AuditConfig.from_settings(table_name=log))
    return AuditLog()


def _as_date(since: date | datetime | str | None) -> date | None:
    if since is None or (isinstance(since, date) and not isinstance(since, datetime)):
        return since
    if isinstance(since, str):
        return date.fromisoformat(since[:10])
    # shards are UTC days; a naive datetime is taken as UTC already
    return since.date() if since.tzinfo is None else since.astimezone(UTC).date()


def _shards(models: BoundModels, tenant: str | None, floor: date | None) -> list[str]:
    """Every shard with any item, head or event, so a shard that lost its head is still walked."""
    event = models.event
    condition = event.shard.startswith(f"{tenant}#") if tenant is not None else None
    seen: set[str] = set()
    for item in event.scan(condition, attributes_to_get=["shard"]):
        seen.add(item.shard)

    def wanted(shard: str) -> bool:
        try:
            day = shard_day(shard)
        except (ValueError, IndexError):
            return True  # not a shard we would write: walk it, so it is reported
        if tenant is not None and shard_tenant(shard) != tenant:
            return False
        return floor is None or day >= floor

    def order(shard: str) -> tuple[str, str]:
        return (shard.rsplit("#", 1)[-1], shard)

    return sorted((s for s in seen if wanted(s)), key=order)


def _events(models: BoundModels, shard: str, after: int | float):
    """Raw event items of ``shard`` with seq > ``after``, ascending; raw so a tampered type cannot stop the walk."""
    connection = models.event._get_connection()
    start = None
    while True:
        page = connection.query(
            shard,
            range_key_condition=models.event.seq > after,
            consistent_read=True,
            exclusive_start_key=start,
        )
        yield from page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return


def _head(models: BoundModels, shard: str) -> tuple[Any, Any] | None:
    try:
        head = models.head.get(shard, HEAD_SEQ, consistent_read=True)
    except DoesNotExist:
        return None
    except Exception:  # noqa: BLE001 - a head with tampered attribute types still counts as a head
        return (None, None)
    return head.last_seq, head.last_hash


def _check_event(
    models: BoundModels, raw: dict, shard: str, expected: int, prev: str
) -> tuple[BadEntry | None, str]:
    """Check one event; returns (failure or None, its stored hash)."""
    try:
        item = models.event.from_raw_data(raw)
    except Exception as exc:  # noqa: BLE001 - an attribute of the wrong type is a modification
        seq = raw.get("seq", {}).get("N", expected)
        return BadEntry(
            shard, expected, Reason.hash_mismatch, f"unreadable item at seq {seq}: {type(exc).__name__}"
        ), ""
    seq = item.seq
    if seq != expected:
        if isinstance(seq, float) and not seq.is_integer():
            return BadEntry(shard, seq, Reason.broken_link, "seq is not a whole number"), ""
        return BadEntry(shard, expected, Reason.gap, f"next entry is seq {seq}"), ""
    fields = {name: getattr(item, name) for name in EVENT_FIELDS}
    fields["detail"] = _plain(fields["detail"])
    if entry_hash(fields, shard, expected, item.prev_hash) != item.hash:
        return BadEntry(shard, expected, Reason.hash_mismatch), item.hash
    if item.prev_hash != prev:
        return BadEntry(
            shard, expected, Reason.broken_link, "prev_hash is not the previous entry's hash"
        ), item.hash
    if item.ttl is None or item.ttl < retain_until(shard):
        return BadEntry(shard, expected, Reason.ttl_too_early), item.hash
    return None, item.hash


def _plain(detail: Any) -> Any:
    if detail is None:
        return None
    if hasattr(detail, "as_dict"):
        return detail.as_dict()
    return detail


def _verify_shard(models: BoundModels, shard: str) -> tuple[int, BadEntry | None]:
    try:
        shard_day(shard)
    except (ValueError, IndexError):
        return 0, BadEntry(shard, HEAD_SEQ, Reason.broken_link, "not a '{tenant}#{YYYY-MM-DD}' shard")
    checked, last_seq, prev = 0, 0, GENESIS_HASH
    for _ in range(_TAIL_REREADS):
        for raw in _events(models, shard, last_seq):
            checked += 1
            bad, digest = _check_event(models, raw, shard, last_seq + 1, prev)
            if bad is not None:
                return checked, bad
            last_seq, prev = last_seq + 1, digest
        # read the head after the events: transactions move both together, so a head ahead of the
        # last event we saw is either a live append (re-read the tail) or a truncation
        head = _head(models, shard)
        if head is None:
            if last_seq == 0:
                return checked, None  # an empty shard (can only be an item we failed to read)
            return checked, BadEntry(shard, HEAD_SEQ, Reason.head_mismatch, "head item missing")
        head_seq, head_hash = head
        if not isinstance(head_seq, int | float) or not isinstance(head_hash, str):
            return checked, BadEntry(shard, HEAD_SEQ, Reason.head_mismatch, "head item unreadable")
        if head_seq > last_seq:
            continue
        if head_seq < last_seq:
            return checked, BadEntry(shard, int(head_seq) + 1, Reason.head_mismatch, "event beyond the head")
        if head_hash != prev:
            return checked, BadEntry(
                shard, last_seq, Reason.head_mismatch, "head hash differs from last event"
            )
        return checked, None
    return checked, BadEntry(shard, last_seq + 1, Reason.head_mismatch, f"head is at seq {head_seq}")
