"""Checking the hash chains: every hash, every link, every seq and every head.

What each failure means:

- ``hash mismatch``: an entry's stored fields no longer hash to its stored hash (modified).
- ``broken link``: an entry's ``prev_hash`` is not its predecessor's hash, or its seq is not a
  whole number (reordered, replaced or inserted).
- ``gap``: a seq is missing before the head (deleted).
- ``head mismatch``: the head disagrees with the last event (tail truncated, events written
  past the head, or the head itself altered or deleted).
- ``ttl too early``: an entry may expire before its six-year retention.
- ``truncated``: a signed, anchored digest (:mod:`audit.digest`) fixed the shard's head at a later
  seq than the chain now reaches, or lists a shard that no longer exists (tail or shard deleted,
  even when the intruder moved the head back consistently).
- ``anchor mismatch``: the chain reaches an anchored seq, but with another hash (history rewritten
  consistently from some entry on).

With digests checked, the digest chain itself is verified too (signature under a trusted key,
Merkle root, numbering, link to the previous digest, Object Lock); failures go to
``VerifyReport.digest_failures``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pynamodb.exceptions import DoesNotExist

from .chain import AuditLog
from .config import AuditConfig
from .digest import BadDigest, Digests
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
    truncated = "truncated"
    anchor_mismatch = "anchor mismatch"


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
    digests_checked : int or None
        Anchored digests checked; ``None`` when the walk ran without digests.
    digest_failures : list[BadDigest]
        Digests that failed their signature, root, link, numbering or lock check.
    """

    ok: bool = True
    events_checked: int = 0
    shards_checked: int = 0
    first_bad: BadEntry | None = None
    failures: list[BadEntry] = field(default_factory=list)
    digests_checked: int | None = None
    digest_failures: list[BadDigest] = field(default_factory=list)

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
    digests: Digests | bool | None = None,
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
    digests : Digests or bool, optional
        Also check against the anchored digests: ``True`` for the log's own digest store, or a
        :class:`~audit.digest.Digests`. Without it only the chains themselves are checked.

    Returns
    -------
    VerifyReport
        ``ok`` is True for a table that does not exist yet and no digest anchoring anything.
    """
    log = _as_log(log)
    report = VerifyReport()
    floor = _as_date(since)
    anchored: dict[str, dict[int, str]] = {}
    if digests:
        store = digests if isinstance(digests, Digests) else Digests(log)
        documents = store.documents()
        report.digests_checked, report.digest_failures = store.check_chain(documents)
        bad_keys = {b.key for b in report.digest_failures}
        # a digest that fails its own checks anchors nothing
        trusted_docs = [doc for key, doc, _m in documents if key not in bad_keys]
        anchored = {
            shard: seqs
            for shard, seqs in store.anchored_heads(trusted_docs).items()
            if _wanted(shard, tenant, floor)
        }
    shards = _shards(log.models, tenant, floor) if log.table_exists() else []
    present = set(shards)
    for shard in sorted(present | set(anchored), key=_order):
        report.shards_checked += 1
        if shard not in present:
            top = max(anchored[shard])
            report.failures.append(
                BadEntry(shard, 1, Reason.truncated, f"shard deleted; a digest anchored it at seq {top}")
            )
            continue
        checked, bad = _verify_shard(log.models, shard, anchored.get(shard))
        report.events_checked += checked
        if bad is not None:
            report.failures.append(bad)
    if report.failures:
        report.first_bad = report.failures[0]
    report.ok = not report.failures and not report.digest_failures
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

    return sorted((s for s in seen if _wanted(s, tenant, floor)), key=_order)


def _wanted(shard: str, tenant: str | None, floor: date | None) -> bool:
    try:
        day = shard_day(shard)
    except (ValueError, IndexError):
        return True  # not a shard we would write: walk it, so it is reported
    if tenant is not None and shard_tenant(shard) != tenant:
        return False
    return floor is None or day >= floor


def _order(shard: str) -> tuple[str, str]:
    return (shard.rsplit("#", 1)[-1], shard)


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
    fast = _fast_fields(raw)
    if fast is not None:
        seq, fields, prev_hash, stored, ttl = fast
        if seq != expected:
            return BadEntry(shard, expected, Reason.gap, f"next entry is seq {seq}"), ""
        if entry_hash(fields, shard, expected, prev_hash) != stored:
            return BadEntry(shard, expected, Reason.hash_mismatch), stored
        if prev_hash != prev:
            return BadEntry(shard, expected, Reason.broken_link, "prev_hash is not the previous entry's hash"), stored
        if ttl is None or ttl < _retain_ts(shard):
            return BadEntry(shard, expected, Reason.ttl_too_early), stored
        return None, stored
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


_STRING_FIELDS = tuple(name for name in EVENT_FIELDS if name != "detail")


def _fast_fields(raw: dict) -> tuple[int, dict[str, Any], str, str, int | None] | None:
    """The hashed fields straight from a well-typed raw item, or None to take the careful path.

    Anything unusual (a missing attribute, another type, a fractional seq) returns None, and the
    pynamodb path reports it exactly as before; this only skips model construction when all is plain.
    """
    try:
        seq_text = raw["seq"]["N"]
        if not seq_text.isdigit():
            return None
        fields: dict[str, Any] = {name: raw[name]["S"] for name in _STRING_FIELDS}
        detail = raw.get("detail")
        if detail is None:
            fields["detail"] = {}
        else:
            fields["detail"] = {k: v["S"] for k, v in detail["M"].items()}
        ttl = raw.get("ttl")
        return int(seq_text), fields, raw["prev_hash"]["S"], raw["hash"]["S"], int(ttl["N"]) if ttl else None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


@lru_cache(maxsize=4096)
def _retain_ts(shard: str) -> int:
    return int(retain_until(shard).timestamp())


def _plain(detail: Any) -> Any:
    if detail is None:
        return None
    if hasattr(detail, "as_dict"):
        return detail.as_dict()
    return detail


def _verify_shard(
    models: BoundModels, shard: str, anchored: dict[int, str] | None = None
) -> tuple[int, BadEntry | None]:
    checked, bad, reached = _walk_shard(models, shard, anchored or {})
    if bad is None and anchored:
        # the walk ended clean: did it reach every head a digest fixed?
        top = max(anchored)
        if reached < top:
            return checked, BadEntry(
                shard, reached + 1, Reason.truncated, f"chain ends at seq {reached}; a digest anchored seq {top}"
            )
    return checked, bad


def _walk_shard(
    models: BoundModels, shard: str, anchored: dict[int, str]
) -> tuple[int, BadEntry | None, int]:
    """(events checked, first failure or None, the last seq the walk reached intact)."""
    return _walk(
        models, shard, anchored, lambda after: _events(models, shard, after), lambda: _head(models, shard)
    )


def verify_items(
    models: BoundModels,
    shard: str,
    items: Iterable[dict],
    anchored: dict[int, str] | None = None,
) -> tuple[int, BadEntry | None]:
    """Check one shard from raw DynamoDB items already fetched (a Scan page, a backup, a test).

    The same checks as :func:`verify`, without re-reading: ``items`` are the shard's raw items
    (``{"seq": {"N": ...}, ...}``), head (seq 0) included, in any order.
    """
    head_raw, events = None, []
    for raw in items:
        seq = raw.get("seq", {}).get("N")
        if seq == str(HEAD_SEQ):
            head_raw = raw
        else:
            events.append(raw)
    events.sort(key=lambda r: _seq_key(r.get("seq", {}).get("N")))

    def after(last: int | float):
        return (r for r in events if _seq_key(r.get("seq", {}).get("N")) > last)

    def head():
        if head_raw is None:
            return None
        try:
            return int(head_raw["last_seq"]["N"]), head_raw["last_hash"]["S"]
        except (KeyError, ValueError, TypeError):
            return (None, None)

    checked, bad, reached = _walk(models, shard, anchored or {}, after, head, rereads=1)
    if bad is None and anchored and reached < max(anchored):
        bad = BadEntry(shard, reached + 1, Reason.truncated, f"chain ends at seq {reached}; a digest anchored seq {max(anchored)}")
    return checked, bad


def _seq_key(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("inf")


def _walk(
    models: BoundModels,
    shard: str,
    anchored: dict[int, str],
    events_after: Callable[[int | float], Iterable[dict]],
    read_head: Callable[[], tuple[Any, Any] | None],
    rereads: int = _TAIL_REREADS,
) -> tuple[int, BadEntry | None, int]:
    try:
        shard_day(shard)
    except (ValueError, IndexError):
        return 0, BadEntry(shard, HEAD_SEQ, Reason.broken_link, "not a '{tenant}#{YYYY-MM-DD}' shard"), 0
    checked, last_seq, prev = 0, 0, GENESIS_HASH
    head_seq: Any = None
    for _ in range(rereads):
        for raw in events_after(last_seq):
            checked += 1
            bad, digest = _check_event(models, raw, shard, last_seq + 1, prev)
            if bad is not None:
                return checked, bad, last_seq
            last_seq, prev = last_seq + 1, digest
            if last_seq in anchored and anchored[last_seq] != digest:
                return checked, BadEntry(
                    shard, last_seq, Reason.anchor_mismatch, "hash differs from the one a digest anchored"
                ), last_seq
        # read the head after the events: transactions move both together, so a head ahead of the
        # last event we saw is either a live append (re-read the tail) or a truncation
        head = read_head()
        if head is None:
            if last_seq == 0:
                return checked, None, last_seq  # an empty shard (can only be an item we failed to read)
            return checked, BadEntry(shard, HEAD_SEQ, Reason.head_mismatch, "head item missing"), last_seq
        head_seq, head_hash = head
        if not isinstance(head_seq, int | float) or not isinstance(head_hash, str):
            return checked, BadEntry(shard, HEAD_SEQ, Reason.head_mismatch, "head item unreadable"), last_seq
        if head_seq > last_seq:
            continue
        if head_seq < last_seq:
            return checked, BadEntry(shard, int(head_seq) + 1, Reason.head_mismatch, "event beyond the head"), last_seq
        if head_hash != prev:
            return checked, BadEntry(
                shard, last_seq, Reason.head_mismatch, "head hash differs from last event"
            ), last_seq
        return checked, None, last_seq
    return checked, BadEntry(shard, last_seq + 1, Reason.head_mismatch, f"head is at seq {head_seq}"), last_seq
