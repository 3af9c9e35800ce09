"""Where the audit log lives and how hard appends try; built from ``medcore.settings``."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from medcore.settings import Settings, get_settings

# Events per append transaction, and per block item (see audit.blocks): 250 typical entries make a
# block of about 110 KB; MAX_BLOCK_BYTES caps unusually long ones well under DynamoDB's 400 KB item
# limit, and MAX_TRANSACTION_BYTES keeps a transaction (its blocks plus the head) under its 4 MB.
MAX_BATCH = 250
MAX_BLOCK_BYTES = 300_000
MAX_TRANSACTION_BYTES = 3_500_000


@dataclass(frozen=True)
class AuditConfig:
    """Settings for one audit log.

    Parameters
    ----------
    table_name : str
        The DynamoDB table (3 to 255 characters), separate from every other table.
    endpoint : str or None
        DynamoDB endpoint; ``None`` means the real AWS service.
    region : str
        AWS region.
    batch_size : int
        Events per append transaction, 1 to 250. A transaction writes them as one block item (more
        than one only when they exceed ``MAX_BLOCK_BYTES``) plus the head update, atomically.
    max_attempts : int
        Transactions tried per batch before :class:`~audit.exceptions.AppendConflict`.
    s3_endpoint : str or None
        Where signed digests are anchored (moto server locally); ``None`` means real S3.
    digest_bucket : str
        The S3 bucket, created with Object Lock. Digests go under ``audit-digests/<table>/``.
    lock_mode : str
        ``COMPLIANCE`` (nobody, root included, can delete before the retention date) or ``GOVERNANCE``.
    signing_key_path : Path or None
        The Ed25519 private key (PEM) that signs digests. Generated there (mode 0600) on first use.
    verify_segments : int
        Parallel Scan segments :func:`~audit.verify.verify` reads the table with, 1 to 64.
    """

    table_name: str
    endpoint: str | None
    region: str
    batch_size: int = MAX_BATCH
    max_attempts: int = 40
    s3_endpoint: str | None = None
    digest_bucket: str = "medcode-audit-digests"
    lock_mode: str = "COMPLIANCE"
    signing_key_path: Path | None = None
    verify_segments: int = 8

    def __post_init__(self) -> None:
        if not 3 <= len(self.table_name) <= 255:
            raise ValueError("table_name must have 3 to 255 characters")
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")
        if not 1 <= self.verify_segments <= 64:
            raise ValueError("verify_segments must be between 1 and 64")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.lock_mode not in ("COMPLIANCE", "GOVERNANCE"):
            raise ValueError("lock_mode must be COMPLIANCE or GOVERNANCE")

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> AuditConfig:
        """Build from ``medcore.settings`` (``MEDCODE_AUDIT_TABLE``, ``MEDCODE_DYNAMODB_ENDPOINT``...).

        The digest settings are not (yet) fields of ``medcore.settings``; they come from
        ``MEDCODE_AUDIT_DIGEST_BUCKET``, ``MEDCODE_AUDIT_LOCK_MODE`` and
        ``MEDCODE_AUDIT_SIGNING_KEY`` (a file path; default ``<var_dir>/audit/digest-signing-key.pem``).

        Parameters
        ----------
        settings : Settings, optional
            Defaults to :func:`medcore.settings.get_settings`.
        **overrides
            Field values that win over the settings, e.g. ``table_name="audit-test-1"``.
        """
        s = settings or get_settings()
        env = os.environ
        key_path = env.get("MEDCODE_AUDIT_SIGNING_KEY")
        base = cls(
            table_name=s.audit_table,
            endpoint=s.dynamodb_endpoint,
            region=s.aws_region,
            s3_endpoint=s.moto_endpoint,
            digest_bucket=env.get("MEDCODE_AUDIT_DIGEST_BUCKET", "medcode-audit-digests"),
            lock_mode=env.get("MEDCODE_AUDIT_LOCK_MODE", "COMPLIANCE"),
            signing_key_path=Path(key_path) if key_path else Path(s.var_dir) / "audit" / "digest-signing-key.pem",
        )
        return replace(base, **overrides)

    def credentials(self) -> dict[str, str | None]:
        """Keys for the pynamodb connection.

        DynamoDB Local wants a signature (keys of letters and digits) but checks no secret. Dummy keys go to this
        connection only, and only when the environment has none, so real AWS use is untouched.
        """
        if self.endpoint and not os.environ.get("AWS_ACCESS_KEY_ID"):
            return {"aws_access_key_id": "medcodelocal", "aws_secret_access_key": "medcodelocal"}
        return {"aws_access_key_id": None, "aws_secret_access_key": None}

    def s3_client_kwargs(self) -> dict[str, Any]:
        """boto3 client arguments for the digest bucket; dummy keys only for a local endpoint."""
        kwargs: dict[str, Any] = {"region_name": self.region}
        if self.s3_endpoint:
            kwargs["endpoint_url"] = self.s3_endpoint
            if not os.environ.get("AWS_ACCESS_KEY_ID"):
                kwargs |= {"aws_access_key_id": "medcodelocal", "aws_secret_access_key": "medcodelocal"}
        return kwargs
