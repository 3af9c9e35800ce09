"""The clearinghouse interface: the :class:`Clearinghouse` protocol and the documents it returns."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from claims.acks import Ack277, Ack999, parse_277, parse_999
from claims.remit import Remittance, parse_835

__all__ = ["AckDocument", "Clearinghouse", "RemittanceDocument", "SubmissionReceipt"]


class SubmissionReceipt(BaseModel):
    """What the clearinghouse answers when it takes a file: its id for the submission, nothing adjudicated yet."""

    model_config = ConfigDict(frozen=True)

    submission_id: str
    status: str = Field(description="received (acknowledgments follow), or an adapter-specific state")
    received_at: datetime
    format: Literal["x12", "json"]
    claim_ids: list[str] = Field(default_factory=list)
    interchange_control_number: str | None = None
    idempotency_key: str | None = None
    replayed: bool = Field(default=False, description="True when the server answered from an earlier request with the same key")


class AckDocument(BaseModel):
    """One acknowledgment file: a 999 (syntax) or a 277CA (claim acceptance)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["999", "277CA"]
    x12: str = Field(repr=False)
    created_at: datetime

    def as_999(self) -> list[Ack999]:
        return parse_999(self.x12)

    def as_277(self) -> list[Ack277]:
        return parse_277(self.x12)


class RemittanceDocument(BaseModel):
    """One 835 file as delivered, with the submission it answers when the clearinghouse says so."""

    model_config = ConfigDict(frozen=True)

    remittance_id: str
    submission_id: str | None = None
    created_at: datetime
    x12: str = Field(repr=False)

    def parse(self) -> list[Remittance]:
        return parse_835(self.x12)


@runtime_checkable
class Clearinghouse(Protocol):
    """What medcode needs from a clearinghouse. :class:`~claims.clearinghouse.http.HttpClearinghouse` is one."""

    def submit_x12(self, x12: str, *, idempotency_key: str | None = None) -> SubmissionReceipt:
        """Submit a raw 837P interchange."""
        ...

    def submit_json(self, claim: Mapping[str, Any], *, idempotency_key: str | None = None) -> SubmissionReceipt:
        """Submit one claim as JSON (see :func:`claims.clearinghouse.claim_payload`)."""
        ...

    def fetch_acknowledgements(self, submission_id: str) -> list[AckDocument]:
        """The 999 and 277CA files produced so far for a submission."""
        ...

    def fetch_remittance(self, *, since: datetime | None = None, submission_id: str | None = None) -> list[RemittanceDocument]:
        """835 files created after ``since`` (all when None), optionally for one submission."""
        ...
