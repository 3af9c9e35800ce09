"""Parser models for the events the adapters receive (powertools parser, pydantic v2).

SQS records carry a stage message as JSON in ``body`` (parsed into the typed model by ``Json[...]``);
S3 ObjectCreated notifications name new documents to ingest; the API event is API Gateway's proxy
event with the raw document in ``body``.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    S3Model,
    S3RecordModel,
    SqsModel,
    SqsRecordModel,
)
from pydantic import Json

from handlers.messages import ClaimMessage, EncounterMessage, IngestMessage, RemitMessage


class IngestRecord(SqsRecordModel):
    body: Json[IngestMessage]  # type: ignore[assignment]


class EncounterRecord(SqsRecordModel):
    body: Json[EncounterMessage]  # type: ignore[assignment]


class ClaimRecord(SqsRecordModel):
    body: Json[ClaimMessage]  # type: ignore[assignment]


__all__ = [
    "APIGatewayProxyEventModel",
    "ClaimRecord",
    "EncounterRecord",
    "IngestRecord",
    "RemitRecord",
    "S3Model",
    "S3RecordModel",
    "SqsModel",
]


class RemitRecord(SqsRecordModel):
    body: Json[RemitMessage]  # type: ignore[assignment]
