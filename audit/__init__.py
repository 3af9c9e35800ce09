"""Hash-chained audit log of PHI access, in its own DynamoDB table.

One chain per tenant and UTC day. Append with :class:`AuditLog`, check with :func:`verify`.
"""

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
