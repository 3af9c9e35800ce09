"""Ingest stage on Lambda. Three event sources, one step:

- **SQS** (``IngestMessage`` bodies): partial batch response, one failed record reported by id;
- **S3 ObjectCreated** (a document dropped into the inbox bucket): each object is read and ingested;
  a failure raises after the others are done so Lambda's async retry redelivers the event;
- **API Gateway** (proxy event, the raw document in ``body``): 202 with the encounter id, 422 for a
  document that does not parse (the field at fault, never its value).

The document is parsed first (pure, no side effects) to learn its encounter id; the idempotent part
(audit commit, hand-off to the code queue) is keyed by (encounter id, "ingest").
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import idempotent_function
from aws_lambda_powertools.utilities.parser import parse

from handlers.aws import runtime
from handlers.aws._sqs_stage import SqsStage
from handlers.aws.events import APIGatewayProxyEventModel, IngestRecord, S3Model
from handlers.messages import EncounterMessage, IngestMessage, step_ingest
from medcore.errors import MedcodeError

STAGE_NAME = "ingest"


def _parse(message: IngestMessage, ctx: Any) -> EncounterMessage:
    return step_ingest(message, ctx)


class _IngestStage(SqsStage):
    """Ingest knows the encounter id only after parsing, so it parses outside the idempotent part."""

    def record_handler(self, record: Any) -> dict[str, Any] | None:
        return self.ingest(record.body, message_id=record.messageId)

    def ingest(self, message: IngestMessage, message_id: str = "") -> dict[str, Any]:
        ctx = runtime.stage_context(STAGE_NAME)
        out = _parse(message, ctx)
        eid = out.encounter.encounter_id
        result = _commit(key={"encounter_id": eid, "stage": STAGE_NAME}, message=out.model_dump(mode="json"),
                         events=[e.model_dump(mode="json") for e in ctx.pending])
        runtime.send_next("code", json.dumps(result))
        self.metrics.add_metric(name="EncountersIngested", unit=MetricUnit.Count, value=1)
        self.logger.info("encounter ingested", extra={"encounter_id": eid, "message_id": message_id,
                                                      "format": message.fmt})
        return result


STAGE = _IngestStage(STAGE_NAME, IngestRecord, lambda m: "", lambda m, c: None, next_stage="code")


_PERSISTENCE = runtime.persistence_layer()  # _commit's own; the base class's belongs to its unused step


@idempotent_function(data_keyword_argument="key", persistence_store=_PERSISTENCE, config=STAGE.config)
def _commit(key: dict[str, str], message: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    from medcore.model import AuditEvent

    ctx = runtime.stage_context(STAGE_NAME)
    ctx.pending = [AuditEvent.model_validate(e) for e in events]
    runtime.commit_audit(ctx, key["encounter_id"], STAGE_NAME)
    return message


def _s3(event: dict[str, Any]) -> dict[str, Any]:
    parsed = parse(event=event, model=S3Model)
    s3 = runtime.s3_client()
    done, failed = [], []
    for rec in parsed.Records:
        bucket, key = rec.s3.bucket.name, unquote_plus(rec.s3.object.key)
        try:
            raw = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8", errors="replace")
            out = STAGE.ingest(IngestMessage(job="s3", source=f"s3://{bucket}/{key}", raw=raw),
                               message_id=rec.responseElements.x_amz_request_id if rec.responseElements else "")
            done.append(out["encounter"]["encounter_id"])
        except MedcodeError as exc:
            STAGE.logger.warning("object not ingested", extra={"object_key": key, "error": type(exc).__name__})
            failed.append(key)
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(parsed.Records)} object(s) failed to ingest")
    return {"ingested": done}


def _api(event: dict[str, Any]) -> dict[str, Any]:
    parsed = parse(event=event, model=APIGatewayProxyEventModel)
    params = parsed.queryStringParameters or {}
    try:
        out = STAGE.ingest(IngestMessage(job="api", source="api", raw=parsed.body or "", fmt=params.get("format", "auto")),
                           message_id=parsed.requestContext.requestId)
    except MedcodeError as exc:
        field = getattr(exc, "field", None)
        return {"statusCode": 422, "headers": {"content-type": "application/json"},
                "body": json.dumps({"error": type(exc).__name__, "field": field})}
    return {"statusCode": 202, "headers": {"content-type": "application/json"},
            "body": json.dumps({"encounter_id": out["encounter"]["encounter_id"]})}


_sqs_handler = STAGE.handler()


@STAGE.logger.inject_lambda_context
@STAGE.tracer.capture_lambda_handler
@STAGE.metrics.log_metrics
def _other_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    STAGE.config.register_lambda_context(context)
    return _s3(event) if event.get("Records") else _api(event)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    if records and records[0].get("eventSource") == "aws:sqs":
        return _sqs_handler(event, context)
    return _other_handler(event, context)
