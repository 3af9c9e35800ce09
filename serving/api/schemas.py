"""Request and response bodies of the partner API."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medcore.model import Patient, Setting
from serving.pipeline.coder import CodingResult


class CodeRequest(BaseModel):
    """One note to code: plain text, FHIR R4 (a JSON string or object), HL7 v2 or C-CDA."""

    model_config = ConfigDict(extra="forbid")

    note: str | dict[str, Any] = Field(description="the note; a FHIR resource may be sent as a JSON object")
    format: Literal["auto", "text", "fhir", "hl7", "ccda"] = "auto"
    encounter_id: str | None = Field(default=None, min_length=1, max_length=38)
    date_of_service: date | None = Field(default=None, description="used when the input states none")
    setting: Setting | None = None
    patient: Patient | None = None
    tenant_id: str | None = Field(default=None, description="must be the API key's tenant when given")

    def raw(self) -> str:
        """The note as billed and parsed: a JSON object is serialised compactly."""
        if isinstance(self.note, dict):
            return json.dumps(self.note, separators=(",", ":"), ensure_ascii=False)
        return self.note


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notes: list[CodeRequest] = Field(min_length=1)
    tenant_id: str | None = None


class BatchItem(BaseModel):
    index: int
    status: int = Field(description="200, or the status the note alone would have got (422)")
    result: CodingResult | None = None
    error: str | None = None


class BatchResponse(BaseModel):
    results: list[BatchItem]
    units: int
    notes_coded: int


class UsageResponse(BaseModel):
    tenant_id: str
    period: str = Field(description="calendar month, UTC (YYYY-MM)")
    units: int = Field(description="units this period; a unit is 100 characters, at least 1 per note")
    notes: int
    requests: int
    total_units: int
    quota_units: int | None
    unit_chars: int = 100


class ErrorBody(BaseModel):
    error: str
    message: str
    request_id: str
