"""Appending to the hash chain.

Every batch of one shard is one DynamoDB transaction: a conditional put of the batch as a block item
(:mod:`audit.blocks`; none may exist at its key yet) plus a conditional update of the shard's head
(still at the seq we read, or absent for the first write). Two writers that read the same head cannot
both commit, so a chain never forks; the loser re-reads the head and rebuilds its batch on top of the
winner's. :class:`~audit.buffered.BufferedAuditLog` gathers single events into such batches.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, TableError, TransactWriteError
from pynamodb.transactions import TransactWrite

from medcore.access import Action, Principal, authorize
from medcore.model import AuditEvent

from .blocks import LINE_SEP, entry_line, line_bytes, read_entries
from .config import MAX_BLOCK_BYTES, MAX_TRANSACTION_BYTES, AuditConfig
from .entry import (
    GENESIS_HASH,
    HEAD_SEQ,
    canonical,
    event_fields,
    retain_until,
    shard_day,
    shard_for,
    shard_tenant,
)
from .exceptions import AppendConflict, ChainInconsistent
from .models import BoundModels, bind_models

logger = logging.getLogger(__name__)

_BACKOFF_BASE_S = 0.005
_BACKOFF_CAP_S = 0.25


@dataclass(frozen=True)
class AppendResult:
    """Where an event landed: its shard, its seq and its hash."""

    shard: str
    seq: int
    hash: str


@dataclass(frozen=True)
class AuditRecord:
    """One stored event as :meth:`AuditLog.read` returns it: where it sits, its hash, the event."""

    shard: str
    seq: int
    hash: str
    event: AuditEvent


class AuditLog:
    """A hash-chained, append-only audit log in its own DynamoDB table.

    Parameters
    ----------
    config : AuditConfig, optional
        Defaults to :meth:`AuditConfig.from_settings`.

    Examples
    --------
    >>> log = AuditLog()
    >>> log.append(AuditEvent(tenant_id="t1", actor="coder@clinic", action="read",
    ...                       resource_type="Encounter", resource_id="enc-42"))
    AppendResult(shard='t1#2026-11-28', seq=1, hash='...')
    """

    def __init__(self, config: AuditConfig | None = None):
        self.config = config or AuditConfig.from_settings()
        self._models: BoundModels = bind_models(self.config)
        self._table_ready = False

    @property
    def models(self) -> BoundModels:
        return self._models

    def table_exists(self) -> bool:
        return self._models.block.exists()

    def ensure_table(self) -> None:
        """Create the table (on-demand billing, TTL on ``ttl``) unless it exists."""
        if self._table_ready:
            return
        if not self._models.block.exists():
            try:
                self._models.block.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
            except TableError as exc:
                # another process created it between our check and our create
                if "ResourceInUse" not in str(exc.cause_response_code):
                    raise
                self._wait_active()
        self._table_ready = True

    def _wait_active(self) -> None:
        for _ in range(100):
            status = self._models.block.describe_table().get("TableStatus")
            if status == "ACTIVE":
                return
            time.sleep(0.1)

    def delete_table(self) -> None:
        """Drop the whole table; for tests and local resets only."""
        if self._models.block.exists():
            self._models.block.delete_table()
        self._table_ready = False

    def buffered(self, max_events: int | None = None, max_delay_s: float = 0.2):
        """A :class:`~audit.buffered.BufferedAuditLog` over this log: single events, appended in batches.

        Parameters
        ----------
        max_events : int, optional
            Flush when this many events wait; defaults to ``config.batch_size``.
        max_delay_s : float
            Flush at the latest this long after the oldest waiting event was recorded.
        """
        from .buffered import BufferedAuditLog

        return BufferedAuditLog(self, max_events=max_events, max_delay_s=max_delay_s)

    def append(self, event: AuditEvent) -> AppendResult:
        """Append one event to its shard's chain, now (a transaction of its own).

        For many single events in a row, :meth:`buffered` batches them and is much faster.

        Parameters
        ----------
        event : AuditEvent
            Must hold no PHI: identifiers that are PHI go through ``AuditEvent.pseudonymize``.

        Returns
        -------
        AppendResult

        Raises
        ------
        PHIRejected
            The event looked like it carried PHI; nothing was written.
        AppendConflict
            Other writers kept winning the head; nothing was written.
        """
        return self.append_many([event])[0]

    def append_many(self, events: Sequence[AuditEvent]) -> list[AppendResult]:
        """Append events in order, one transaction per up to ``batch_size`` events of one shard.

        Every event is checked before anything is written. Each transaction is atomic (its block and
        the head move together); the call as a whole is not: when a later transaction fails, the
        earlier ones stay appended.

        Parameters
        ----------
        events : sequence of AuditEvent

        Returns
        -------
        list[AppendResult]
            One per event, in the order given. Events of one shard get increasing seqs in that order.

        Raises
        ------
        PHIRejected, AppendConflict, ChainInconsistent
        """
        prepared = [event_fields(e) for e in events]
        results: list[AppendResult | None] = [None] * len(prepared)

        def committed(indexes: list[int], done: list[AppendResult]) -> None:
            for index, result in zip(indexes, done, strict=True):
                results[index] = result

        self.append_fields(prepared, committed)
        return [r for r in results if r is not None]

    def append_fields(
        self,
        prepared: Sequence[dict[str, Any]],
        on_commit: Callable[[list[int], list[AppendResult]], None],
    ) -> None:
        """Append already checked event fields (:func:`audit.entry.event_fields`), in order.

        ``on_commit(indexes, results)`` is called after each transaction commits, with the indexes
        (into ``prepared``) it appended; a caller that must not lose or repeat events (the buffered
        writer) learns exactly what went in before an error.
        """
        if not prepared:
            return
        self.ensure_table()
        by_shard: dict[str, list[int]] = {}
        for index, fields in enumerate(prepared):
            by_shard.setdefault(shard_for(fields["tenant_id"], fields["at"]), []).append(index)
        for shard, indexes in by_shard.items():
            for chunk in self._transactions(shard, prepared, indexes):
                on_commit(chunk, self._append_batch(shard, [prepared[i] for i in chunk]))

    def _transactions(self, shard: str, prepared: Sequence[dict[str, Any]], indexes: list[int]) -> list[list[int]]:
        """``indexes`` cut into transactions of at most ``batch_size`` events and MAX_TRANSACTION_BYTES."""
        out: list[list[int]] = []
        current: list[int] = []
        size = 0
        for index in indexes:
            # seq 0 here; the real seq adds at most a few digits, hence the margin
            need = line_bytes(len(canonical(prepared[index], shard, 0))) + 16
            if current and (len(current) >= self.config.batch_size or size + need > MAX_TRANSACTION_BYTES):
                out.append(current)
                current, size = [], 0
            current.append(index)
            size += need
        if current:
            out.append(current)
        return out

    def _read_head(self, shard: str) -> tuple[int, str] | None:
        try:
            head = self._models.head.get(shard, HEAD_SEQ, consistent_read=True)
        except DoesNotExist:
            return None
        return int(head.last_seq), head.last_hash

    @staticmethod
    def _blocks(first_seq: int, lines: list[str], sizes: list[int]) -> list[tuple[int, str]]:
        """``lines`` (seqs from ``first_seq``) cut into blocks of at most MAX_BLOCK_BYTES: (first seq, text)."""
        out: list[tuple[int, str]] = []
        start, size = 0, 0
        for i, need in enumerate(sizes):
            if i > start and size + need > MAX_BLOCK_BYTES:
                out.append((first_seq + start, LINE_SEP.join(lines[start:i])))
                start, size = i, 0
            size += need
        out.append((first_seq + start, LINE_SEP.join(lines[start:])))
        return out

    def _append_batch(self, shard: str, batch: list[dict[str, Any]]) -> list[AppendResult]:
        block_cls, head_cls = self._models.block, self._models.head
        expires = retain_until(shard)
        head = self._read_head(shard)
        for attempt in range(1, self.config.max_attempts + 1):
            last_seq, prev = head if head is not None else (0, GENESIS_HASH)
            lines, sizes, results = [], [], []
            for seq, fields in enumerate(batch, start=last_seq + 1):
                text = canonical(fields, shard, seq)
                digest = _sha256_hex(text + prev.encode())
                lines.append(entry_line(digest, prev, text.decode()))
                sizes.append(line_bytes(len(text)))
                results.append(AppendResult(shard, seq, digest))
                prev = digest
            head_condition = (
                head_cls.last_seq.does_not_exist() if head is None else head_cls.last_seq == last_seq
            )
            try:
                # a fresh token per attempt: pynamodb's own retries of this request stay idempotent
                with TransactWrite(
                    connection=self._models.connection, client_request_token=uuid.uuid4().hex
                ) as tx:
                    for first, text in self._blocks(last_seq + 1, lines, sizes):
                        tx.save(
                            block_cls(shard, first, entries=text, ttl=expires),
                            condition=block_cls.seq.does_not_exist(),
                        )
                    tx.update(
                        head_cls(shard, HEAD_SEQ),
                        actions=[
                            head_cls.last_seq.set(results[-1].seq),
                            head_cls.last_hash.set(prev),
                            head_cls.ttl.set(expires),
                        ],
                        condition=head_condition,
                    )
                return results
            except TransactWriteError as exc:
                if exc.cause_response_code != "TransactionCanceledException":
                    # the outcome is unknown (a timeout, a dropped connection): the head says whether it
                    # committed, since only this batch can have moved it to exactly this seq and hash
                    if self._head_if_readable(shard) == (results[-1].seq, results[-1].hash):
                        return results
                    raise
                codes = {r.code for r in exc.cancellation_reasons if r is not None and r.code != "None"}
                if not codes <= {"ConditionalCheckFailed", "TransactionConflict"}:
                    raise
            seen = head
            head = self._read_head(shard)
            if head == seen and "TransactionConflict" not in codes:
                # the head did not move, yet a condition failed: a block sits beyond the head
                raise ChainInconsistent(shard, (seen[0] if seen else 0) + 1)
            # full jitter: writers that collided spread out instead of colliding again
            time.sleep(random.uniform(0, min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt)))
            logger.debug("audit head of %s moved; retry %d", shard, attempt)
        raise AppendConflict(shard, self.config.max_attempts)

    def _head_if_readable(self, shard: str) -> tuple[int, str] | None:
        try:
            return self._read_head(shard)
        except Exception:  # noqa: BLE001 - the store is unreachable: the caller raises its own error
            return None

    def read(
        self,
        principal: Principal,
        tenant: str,
        since: date | None = None,
        until: date | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        """One tenant's audit events, oldest day first, each day in seq order.

        Parameters
        ----------
        principal : Principal
            Must hold ``audit:read`` for ``tenant`` (an admin of that tenant).
        tenant : str
        since, until : date, optional
            UTC days, inclusive. With ``since``, each day's shard is queried directly; without it
            the tenant's shards are found by a scan.
        limit : int, optional
            Stop after this many events.

        Raises
        ------
        AccessDenied
            The principal may not read this tenant's audit log.
        """
        authorize(principal, Action.audit_read, tenant)
        if not self.table_exists():
            return []
        if since is not None:
            last = until or datetime.now(UTC).date()
            shards = [f"{tenant}#{(since + timedelta(days=n)).isoformat()}" for n in range((last - since).days + 1)]
        else:
            head = self._models.head
            shards = sorted(
                {
                    item.shard
                    for item in head.scan(
                        head.shard.startswith(f"{tenant}#") & (head.seq == HEAD_SEQ), attributes_to_get=["shard"]
                    )
                    if shard_tenant(item.shard) == tenant
                },
                key=lambda s: s.rsplit("#", 1)[-1],
            )
        out: list[AuditRecord] = []
        for shard in shards:
            try:
                day = shard_day(shard)
            except ValueError:
                continue
            if until is not None and day > until:
                continue
            for seq, fields, _prev, digest in read_entries(self._models, shard):
                try:
                    event = AuditEvent(**(fields | {"at": datetime.fromisoformat(fields["at"])}))
                except (TypeError, ValueError):
                    continue  # a tampered entry: verify names it
                out.append(AuditRecord(shard, seq, digest, event))
                if limit is not None and len(out) >= limit:
                    return out
        return out


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

