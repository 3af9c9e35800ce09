"""Single events in, batched appends out: :class:`BufferedAuditLog`.

The API, the CLI and the handlers record PHI access one event at a time. One transaction per event
is slow (each is a round trip and a head update); this writer gathers events and appends them in
blocks when ``max_events`` wait, when the oldest has waited ``max_delay_s``, on :meth:`flush` and on
:meth:`close`.

Nothing recorded is lost on a failed flush: an event leaves the buffer only once the transaction
holding it has committed (``AuditLog.append_fields`` reports each commit), so what failed stays
queued, in order, and goes out with the next flush on top of the re-read head. A transaction whose
outcome is unknown (a dropped connection) is settled by the head before anything is re-sent, so it
is not appended twice either.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from medcore.model import AuditEvent

from .chain import AppendResult, AuditLog
from .entry import event_fields

logger = logging.getLogger(__name__)

_RETRY_AFTER_S = 1.0


class BufferedAuditLog:
    """An append-only audit sink that batches: ``append`` returns at once, appends happen in blocks.

    Parameters
    ----------
    log : AuditLog
        Where the events go.
    max_events : int, optional
        Flush when this many events wait; defaults to ``log.config.batch_size`` (one full block).
    max_delay_s : float
        Flush at the latest this long after the oldest waiting event (a background thread does it).
    max_pending : int
        When the store is down and this many events wait, ``append`` flushes itself and raises on
        failure instead of buffering without bound.

    Examples
    --------
    >>> with AuditLog().buffered() as audit:
    ...     audit.append(event)        # returns at once; PHI is refused here, synchronously
    """

    def __init__(
        self,
        log: AuditLog,
        max_events: int | None = None,
        max_delay_s: float = 0.2,
        max_pending: int = 100_000,
    ):
        self.log = log
        self.max_events = max_events or log.config.batch_size
        if self.max_events < 1 or max_delay_s <= 0 or max_pending < self.max_events:
            raise ValueError("max_events >= 1, max_delay_s > 0 and max_pending >= max_events")
        self.max_delay_s = max_delay_s
        self.max_pending = max_pending
        self._pending: list[dict[str, Any]] = []
        self._oldest = 0.0
        self._lock = threading.Lock()  # guards _pending
        self._flushing = threading.Lock()  # one flush at a time keeps events in order
        self._wake = threading.Event()
        self._closed = False
        self.appended = 0
        self.last_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="audit-flush", daemon=True)
        self._thread.start()

    # recording ----------------------------------------------------------------------------------
    def append(self, event: AuditEvent) -> None:
        """Record one event; it is appended with the next batch.

        Raises
        ------
        PHIRejected
            At once, before buffering: the event looked like it carried PHI.
        """
        self.append_many([event])

    def append_many(self, events: Sequence[AuditEvent]) -> None:
        """Record events in order (an ``AuditSink``); every one is checked for PHI before any is queued."""
        prepared = [event_fields(e) for e in events]  # raises PHIRejected before anything is queued
        if self._closed:
            raise RuntimeError("this BufferedAuditLog is closed")
        with self._lock:
            if not self._pending:
                self._oldest = time.monotonic()
            self._pending.extend(prepared)
            waiting = len(self._pending)
        if waiting >= self.max_pending:
            self.flush()  # back-pressure: a store that is down shows up in the caller
        elif waiting >= self.max_events:
            self._wake.set()

    @property
    def pending(self) -> int:
        """Events recorded and not yet appended."""
        with self._lock:
            return len(self._pending)

    # flushing -----------------------------------------------------------------------------------
    def flush(self) -> int:
        """Append everything waiting now; returns how many events went in.

        Raises
        ------
        AppendConflict, ChainInconsistent, botocore errors
            What stopped the append; the events not appended stay queued, in order.
        """
        with self._flushing:
            with self._lock:
                batch = list(self._pending)
            if not batch:
                return 0
            done = [False] * len(batch)

            def committed(indexes: list[int], _results: list[AppendResult]) -> None:
                for index in indexes:
                    done[index] = True

            try:
                self.log.append_fields(batch, committed)
            finally:
                # drop exactly the committed events; new ones recorded meanwhile stay behind the rest
                with self._lock:
                    rest = [fields for fields, ok in zip(batch, done, strict=True) if not ok]
                    self._pending = rest + self._pending[len(batch) :]
                    if self._pending:
                        self._oldest = time.monotonic() if rest else self._oldest
                self.appended += sum(done)
            return len(batch)

    def close(self) -> None:
        """Stop the background thread and flush what waits; raises when that final flush fails."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=30)
        self.flush()

    def __enter__(self) -> BufferedAuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while not self._closed:
            with self._lock:
                waiting, oldest = len(self._pending), self._oldest
            if waiting >= self.max_events or (waiting and time.monotonic() - oldest >= self.max_delay_s):
                try:
                    self.flush()
                    self.last_error = None
                except Exception as exc:  # noqa: BLE001 - kept queued; retried, and raised by close()
                    self.last_error = exc
                    logger.warning("audit flush failed (%s); %d event(s) stay queued", type(exc).__name__, self.pending)
                    self._wake.wait(_RETRY_AFTER_S)
                    self._wake.clear()
                continue
            timeout = self.max_delay_s if not waiting else max(0.0, self.max_delay_s - (time.monotonic() - oldest))
            self._wake.wait(timeout)
            self._wake.clear()
