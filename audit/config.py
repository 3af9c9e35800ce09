"""Where the audit log lives and how hard appends try; built from ``medcore.settings``."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

from medcore.settings import Settings, get_settings

# DynamoDB caps a transaction at 100 items: the events plus the one head update
MAX_BATCH = 99


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
        Events per transaction, 1 to 99.
    max_attempts : int
        Transactions tried per batch before :class:`~audit.exceptions.AppendConflict`.
    """

    table_name: str
    endpoint: str | None
    region: str
    batch_size: int = MAX_BATCH
    max_attempts: int = 40

    def __post_init__(self) -> None:
        if not 3 <= len(self.table_name) <= 255:
            raise ValueError("table_name must have 3 to 255 characters")
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> AuditConfig:
        """Build from ``medcore.settings`` (``MEDCODE_AUDIT_TABLE``, ``MEDCODE_DYNAMODB_ENDPOINT``...).

        Parameters
        ----------
        settings : Settings, optional
            Defaults to :func:`medcore.settings.get_settings`.
        **overrides
            Field values that win over the settings, e.g. ``table_name="audit-test-1"``.
        """
        s = settings or get_settings()
        base = cls(table_name=s.audit_table, endpoint=s.dynamodb_endpoint, region=s.aws_region)
        return replace(base, **overrides)

    def credentials(self) -> dict[str, str | None]:
        """Keys for the pynamodb connection.

        DynamoDB Local wants a signature (keys of letters and digits) but checks no secret. Dummy keys go to this
        connection only, and only when the environment has none, so real AWS use is untouched.
        """
        if self.endpoint and not os.environ.get("AWS_ACCESS_KEY_ID"):
            return {"aws_access_key_id": "medcodelocal", "aws_secret_access_key": "medcodelocal"}
        return {"aws_access_key_id": None, "aws_secret_access_key": None}
