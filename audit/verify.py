"""Checking the hash chains: every entry's hash, link and seq, every block boundary, every head.

The table is read with a parallel, consistent Scan (``AuditConfig.verify_segments`` segments,
low-level client, no model decoding); entries are checked as pages arrive. Each shard's blocks come
in key order; a shard whose head disagrees with what the scan saw (a live append) has its head and
tail re-read with consistent reads before anything is called broken.

Per entry (one line of a block, :mod:`audit.blocks`): ``SHA-256(canonical ‖ prev_hash)`` over the
stored bytes equals the stored hash; the seq and shard written inside the canonical JSON are the ones
its place in the chain calls for; ``prev_hash`` is the previous entry's hash. Per block: its key is
the seq after the previous block's last entry, its TTL keeps it six years. Per shard: the head holds
the last entry's seq and hash, and every head a digest anchored is reached with the anchored hash.

What each failure means:

- ``hash mismatch``: an entry's stored bytes no longer hash to its stored hash (modified), or a block
  or entry cannot be read at all.
- ``broken link``: an entry's ``prev_hash`` is not its predecessor's hash, an entry holds another
  seq or shard than its place, a block overlaps the one before, or a key is not a whole number
  (reordered, replaced or inserted).
- ``gap``: a seq is missing before the head (an entry or a whole block deleted).
- ``head mismatch``: the head disagrees with the last entry (tail truncated, entries written
  past the head, or the head itself altered or deleted).
- ``ttl too early``: a block (named by its first seq) or the head (seq 0) may expire before its
  six-year retention.
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

import hashlib
import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from .blocks import LINE_SEP, TEXT_AT, query_blocks, seq_marker, shard_json
from .chain import AuditLog
from .config import AuditConfig
from .digest import BadDigest, Digests
from .entry import GENESIS_HASH, HEAD_SEQ, retain_until, shard_day, shard_tenant
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
    walked = _walk_table(log, tenant, floor, anchored) if log.table_exists() else {}
    for shard in sorted(set(walked) | set(anchored), key=_order):
        report.shards_checked += 1
        if shard not in walked:
            top = max(anchored[shard])
            report.failures.append(
                BadEntry(shard, 1, Reason.truncated, f"shard deleted; a digest anchored it at seq {top}")
            )
            continue
        checked, bad = walked[shard]
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


def _wanted(shard: str, tenant: str | None, floor: date | None) -> bool:
    try:
        day = shard_day(shard)
    except (ValueError, IndexError):
        return tenant is None or shard.startswith(f"{tenant}#")  # not a shard we would write: walk it, so it is reported
    if tenant is not None and shard_tenant(shard) != tenant:
        return False
    return floor is None or day >= floor


def _order(shard: str) -> tuple[str, str]:
    return (shard.rsplit("#", 1)[-1], shard)


# reading ----------------------------------------------------------------------------------------


def _scan(models: BoundModels, tenant: str | None, segments: int) -> Iterator[tuple[int, list[dict]]]:
    """(segment, page of raw items) from a parallel consistent Scan, as pages arrive.

    Worker threads fetch; the caller checks in its own thread meanwhile. A small queue bounds memory
    to a few pages, whatever the table's size.
    """
    pages: queue.Queue = queue.Queue(maxsize=2 * segments)
    stop = threading.Event()

    def put(item: tuple[int, Any]) -> bool:
        while not stop.is_set():
            try:
                pages.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch(segment: int) -> None:
        kwargs: dict[str, Any] = {
            "TableName": models.table_name,
            "Segment": segment,
            "TotalSegments": segments,
            "ConsistentRead": True,
        }
        if tenant is not None:
            kwargs |= {
                "FilterExpression": "begins_with(#s, :p)",
                "ExpressionAttributeNames": {"#s": "shard"},
                "ExpressionAttributeValues": {":p": {"S": f"{tenant}#"}},
            }
        try:
            while True:
                page = models.client.scan(**kwargs)
                if not put((segment, page.get("Items", []))):
                    return
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
                kwargs["ExclusiveStartKey"] = start
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread, which raises it
            put((segment, exc))
            return
        put((segment, None))

    workers = [threading.Thread(target=fetch, args=(n,), daemon=True) for n in range(segments)]
    for worker in workers:
        worker.start()
    try:
        finished = 0
        while finished < segments:
            segment, payload = pages.get()
            if payload is None:
                finished += 1
            elif isinstance(payload, BaseException):
                raise payload
            else:
                yield segment, payload
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=5)


def _read_head(models: BoundModels, shard: str) -> dict | None:
    item = models.client.get_item(
        TableName=models.table_name,
        Key={"shard": {"S": shard}, "seq": {"N": str(HEAD_SEQ)}},
        ConsistentRead=True,
    ).get("Item")
    return item


def _walk_table(
    log: AuditLog, tenant: str | None, floor: date | None, anchored: dict[str, dict[int, str]]
) -> dict[str, tuple[int, BadEntry | None]]:
    """Every wanted shard with any item: (entries checked, first failure or None)."""
    models = log.models
    walks: dict[str, _ShardWalk] = {}
    segment_of: dict[str, int] = {}
    irregular: set[str] = set()
    for segment, items in _scan(models, tenant, log.config.verify_segments):
        for raw in items:
            shard = raw.get("shard", {}).get("S")
            if not isinstance(shard, str) or not _wanted(shard, tenant, floor):
                continue
            walk = walks.get(shard)
            if walk is None:
                walk = walks[shard] = _ShardWalk(shard, anchored.get(shard))
                segment_of[shard] = segment
            elif segment_of[shard] != segment:
                irregular.add(shard)  # DynamoDB keeps a partition in one segment; if not, re-read it
            if not walk.feed(raw):
                irregular.add(shard)
    out: dict[str, tuple[int, BadEntry | None]] = {}
    for shard, walk in walks.items():
        if shard in irregular:
            walk = _ShardWalk(shard, anchored.get(shard))
            for raw in query_blocks(models, shard):
                walk.feed(raw)
            walk.scanned_head = _read_head(models, shard)
        walk.finish(
            lambda shard=shard: _read_head(models, shard),
            lambda after, shard=shard: query_blocks(models, shard, after=after),
        )
        out[shard] = walk.checked, walk.result()
    return out


# checking ---------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _retain_ts(shard: str) -> int:
    return int(retain_until(shard).timestamp())


def _ttl_ok(raw: dict, shard: str) -> bool:
    try:
        return int(raw["ttl"]["N"]) >= _retain_ts(shard)
    except (KeyError, TypeError, ValueError):
        return False


class _ShardWalk:
    """One shard's chain, checked block by block as blocks arrive in key order.

    ``feed`` takes raw items (the head or a block), ``finish`` settles the head; ``result`` is the
    first failure or None. State is a few strings, so a walk of any length holds no entries.
    """

    __slots__ = ("shard", "anchored", "checked", "last_seq", "prev", "bad", "scanned_head", "_last_key",
                 "_shard_json", "_retain")

    def __init__(self, shard: str, anchored: dict[int, str] | None = None):
        self.shard = shard
        self.anchored = anchored or {}
        self.checked = 0
        self.last_seq = 0
        self.prev = GENESIS_HASH
        self.bad: BadEntry | None = None
        self.scanned_head: dict | None = None
        self._last_key = -1.0
        self._shard_json = shard_json(shard)
        try:
            shard_day(shard)
            self._retain = _retain_ts(shard)
        except (ValueError, IndexError):
            self.bad = BadEntry(shard, HEAD_SEQ, Reason.broken_link, "not a '{tenant}#{YYYY-MM-DD}' shard")

    def _fail(self, seq: int | float, reason: Reason, detail: str = "") -> None:
        self.bad = BadEntry(self.shard, seq, reason, detail)

    def feed(self, raw: dict) -> bool:
        """Check one raw item; False when it came out of key order (the caller re-reads the shard)."""
        seq_text = raw.get("seq", {}).get("N", "")
        try:
            key = float(seq_text)
        except (TypeError, ValueError):
            key = float("inf")
        if key <= self._last_key:
            return False
        self._last_key = key
        if seq_text == str(HEAD_SEQ):
            self.scanned_head = raw
            return True
        if self.bad is not None:
            return True
        expected = self.last_seq + 1
        if not seq_text.isdigit():
            self._fail(expected, Reason.broken_link, f"a block is keyed {seq_text}, not a whole seq")
            return True
        first = int(seq_text)
        if first > expected:
            self._fail(expected, Reason.gap, f"next entry is seq {first}")
            return True
        if first < expected:
            self._fail(first, Reason.broken_link, f"a block starts at seq {first}, inside entries up to {self.last_seq}")
            return True
        if not _ttl_ok(raw, self.shard):
            self._fail(first, Reason.ttl_too_early, "block")
            return True
        text = raw.get("entries", {}).get("S") if isinstance(raw.get("entries"), dict) else None
        if not isinstance(text, str) or not text:
            self.checked += 1
            self._fail(first, Reason.hash_mismatch, "unreadable block")
            return True
        self._check_lines(text.split(LINE_SEP), first)
        return True

    def _check_lines(self, lines: list[str], first: int) -> None:
        # the hot loop: one SHA-256 and a few string compares per entry, no JSON parsing unless it fails
        prev, seq, anchored, tail = self.prev, first, self.anchored, self._shard_json
        sha256 = hashlib.sha256
        checked = self.checked
        for line in lines:
            checked += 1
            if len(line) <= TEXT_AT or line[64] != " " or line[129] != " ":
                self._fail(seq, Reason.hash_mismatch, "malformed entry")
                break
            digest, link, text = line[:64], line[65:129], line[TEXT_AT:]
            if sha256((text + link).encode()).hexdigest() != digest:
                self._fail(seq, Reason.hash_mismatch)
                break
            at = text.rfind(',"seq":')
            if at < 0 or not text.startswith(seq_marker(seq, tail), at):
                self._misplaced(text, seq)
                break
            if link != prev:
                self._fail(seq, Reason.broken_link, "prev_hash is not the previous entry's hash")
                break
            if seq in anchored and anchored[seq] != digest:
                self._fail(seq, Reason.anchor_mismatch, "hash differs from the one a digest anchored")
                break
            prev = digest
            seq += 1
        # after a failure, last_seq and prev stay at the last entry that passed
        self.checked, self.last_seq, self.prev = checked, seq - 1, prev

    def _misplaced(self, text: str, seq: int) -> None:
        """An entry whose hash holds, but not at the place it names: say how (parses its JSON)."""
        try:
            body = json.loads(text)
            held, where = body["seq"], body["shard"]
        except (ValueError, KeyError, TypeError):
            self._fail(seq, Reason.hash_mismatch, "entry is not canonical JSON with a seq and shard")
            return
        if where != self.shard:
            self._fail(seq, Reason.broken_link, "entry of another shard")
        elif isinstance(held, int) and held > seq:
            self._fail(seq, Reason.gap, f"next entry is seq {held}")
        elif held != seq:
            self._fail(seq, Reason.broken_link, f"entry holds seq {held}")
        else:
            self._fail(seq, Reason.hash_mismatch, "entry is not in canonical form")

    def finish(
        self,
        read_head: Callable[[], dict | None],
        blocks_after: Callable[[int], Iterable[dict]],
        rereads: int = _TAIL_REREADS,
    ) -> None:
        """Settle the head. The scanned head is taken when it matches the chain's end; otherwise the
        head and the tail are re-read (a live append moves both together) before anything is reported."""
        if self.bad is not None:
            return
        head_raw = self.scanned_head
        if head_raw is not None and self._head_matches(head_raw):
            self._check_head_ttl(head_raw)
            return
        head_seq: Any = None
        for _ in range(rereads):
            head_raw = read_head()
            if head_raw is None:
                if self.last_seq == 0 and self.checked == 0:
                    return  # an empty shard (can only be an item we failed to read)
                self._fail(HEAD_SEQ, Reason.head_mismatch, "head item missing")
                return
            try:
                head_seq, head_hash = float(head_raw["last_seq"]["N"]), head_raw["last_hash"]["S"]
            except (KeyError, TypeError, ValueError):
                self._fail(HEAD_SEQ, Reason.head_mismatch, "head item unreadable")
                return
            if not isinstance(head_hash, str):
                self._fail(HEAD_SEQ, Reason.head_mismatch, "head item unreadable")
                return
            if head_seq > self.last_seq:
                for raw in blocks_after(self.last_seq):
                    self.feed(raw)
                if self.bad is not None:
                    return
                continue
            if head_seq < self.last_seq:
                self._fail(int(head_seq) + 1, Reason.head_mismatch, "event beyond the head")
                return
            if head_hash != self.prev:
                self._fail(self.last_seq, Reason.head_mismatch, "head hash differs from last event")
                return
            self._check_head_ttl(head_raw)
            return
        shown = int(head_seq) if isinstance(head_seq, float) and head_seq.is_integer() else head_seq
        self._fail(self.last_seq + 1, Reason.head_mismatch, f"head is at seq {shown}")

    def _head_matches(self, raw: dict) -> bool:
        try:
            return raw["last_seq"]["N"] == str(self.last_seq) and raw["last_hash"]["S"] == self.prev
        except (KeyError, TypeError):
            return False

    def _check_head_ttl(self, raw: dict) -> None:
        if not _ttl_ok(raw, self.shard):
            self._fail(HEAD_SEQ, Reason.ttl_too_early, "head")

    def result(self) -> BadEntry | None:
        if self.bad is None and self.anchored and self.last_seq < max(self.anchored):
            top = max(self.anchored)
            return BadEntry(
                self.shard, self.last_seq + 1, Reason.truncated,
                f"chain ends at seq {self.last_seq}; a digest anchored seq {top}",
            )
        return self.bad


def verify_items(
    models: BoundModels | None,
    shard: str,
    items: Iterable[dict],
    anchored: dict[int, str] | None = None,
) -> tuple[int, BadEntry | None]:
    """Check one shard from raw DynamoDB items already fetched (a Scan page, a backup, a test).

    The same checks as :func:`verify`, without re-reading: ``items`` are the shard's raw items
    (``{"seq": {"N": ...}, ...}``), head (seq 0) included, in any order. ``models`` is not used
    (kept for callers of the earlier signature).

    Returns
    -------
    (entries checked, first failure or None)
    """
    walk = _ShardWalk(shard, anchored)
    head = None
    blocks = []
    for raw in items:
        if raw.get("seq", {}).get("N") == str(HEAD_SEQ):
            head = raw
        else:
            blocks.append(raw)
    blocks.sort(key=lambda r: _seq_key(r.get("seq", {}).get("N")))
    for raw in blocks:
        if not walk.feed(raw) and walk.bad is None:
            # two items with one key cannot come from DynamoDB: report rather than guess
            walk._fail(_seq_key(raw.get("seq", {}).get("N")), Reason.broken_link, "two blocks with one key")
    walk.finish(lambda: head, lambda _after: (), rereads=1)
    return walk.checked, walk.result()


def _seq_key(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("inf")
