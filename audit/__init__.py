"""Hash-chained audit log of PHI access, in its own DynamoDB table.

One chain per tenant and UTC day, stored as blocks of entries (one block per append batch). Append
with :class:`AuditLog` (or :class:`BufferedAuditLog` for single events in batches), check with
:func:`verify`.
"""

from .buffered import BufferedAuditLog
from .chain import AppendResult, AuditLog, AuditRecord
from .config import AuditConfig
from .digest import BadDigest, DigestConflict, DigestError, DigestResult, Digests, Proof, check_proof, prove
from .exceptions import AppendConflict, AuditError, ChainInconsistent, PHIRejected
from .verify import BadEntry, Reason, VerifyReport, verify

__all__ = [
    "AppendConflict",
    "AppendResult",
    "AuditConfig",
    "AuditError",
    "AuditLog",
    "AuditRecord",
    "BufferedAuditLog",
    "BadDigest",
    "DigestConflict",
    "DigestError",
    "DigestResult",
    "Digests",
    "Proof",
    "check_proof",
    "prove",
    "BadEntry",
    "ChainInconsistent",
    "PHIRejected",
    "Reason",
    "VerifyReport",
    "verify",
]
