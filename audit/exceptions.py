"""Errors raised by the audit log. None of them carries PHI: they name shards, seqs and fields."""

from __future__ import annotations

from medcore.errors import MedcodeError


class AuditError(MedcodeError):
    """Base class for audit-log errors."""


class PHIRejected(AuditError):
    """An event looked like it carried PHI (note text, a raw identifier) and was not written.

    Parameters
    ----------
    field : str
        The event field at fault, e.g. ``detail.note``.
    reason : str
        Why it was rejected.
    """

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class AppendConflict(AuditError):
    """Other writers kept winning the race for a shard's head; nothing of this batch was written."""

    def __init__(self, shard: str, attempts: int):
        self.shard = shard
        self.attempts = attempts
        super().__init__(f"{shard}: head still contended after {attempts} attempts")


class ChainInconsistent(AuditError):
    """The table holds an event beyond the shard's head: written out of band. Run ``verify``."""

    def __init__(self, shard: str, seq: int):
        self.shard = shard
        self.seq = seq
        super().__init__(f"{shard}: an event already exists at seq {seq}, beyond the head")
