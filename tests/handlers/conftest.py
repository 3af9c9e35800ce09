"""Lambda adapter tests: real event shapes, moto server (SQS, S3) and DynamoDB Local, a fresh audit,
idempotency and ledger table per session, and a LambdaContext dataclass."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

SUFFIX = uuid.uuid4().hex[:8]
ENV = {
    "MEDCODE_AUDIT_TABLE": f"medcode-audit-h-{SUFFIX}",
    "MEDCODE_IDEMPOTENCY_TABLE": f"medcode-idem-h-{SUFFIX}",
    "MEDCODE_QUEUE_PREFIX": f"mc-h-{SUFFIX}",
    "MEDCODE_CLAIMS_BUCKET": f"medcode-claims-h-{SUFFIX}",
    "MEDCODE_DENSE_ENABLED": "false",
    "MEDCODE_VALIDATE_837P": "1",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "medcode",
    "HF_HUB_OFFLINE": "1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class LambdaContext:
    function_name: str = "medcode-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:medcode-test"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture(scope="session")
def aws(services):
    if "dynamodb" not in services or "moto" not in services:
        pytest.skip("needs DynamoDB Local and moto server")
    old = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    from medcore.settings import get_settings

    get_settings.cache_clear()
    from handlers.aws import runtime

    runtime.audit_log.cache_clear()
    runtime.audit_once.cache_clear()
    runtime.ensure_idempotency_table()
    sqs = runtime.sqs_client()
    urls = {}
    for stage in ("ingest", "code", "scrub", "claim", "submit", "remit"):
        urls[stage] = sqs.create_queue(QueueName=f"{ENV['MEDCODE_QUEUE_PREFIX']}-{stage}")["QueueUrl"]
    runtime.s3_client().create_bucket(Bucket=ENV["MEDCODE_CLAIMS_BUCKET"])
    yield {"sqs": sqs, "urls": urls, "runtime": runtime}
    runtime.audit_log().delete_table()
    runtime.audit_once().delete_table()
    runtime.dynamodb_client().delete_table(TableName=ENV["MEDCODE_IDEMPOTENCY_TABLE"])
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    get_settings.cache_clear()


def sqs_event(bodies: list[str], ids: list[str] | None = None) -> dict:
    ids = ids or [str(uuid.uuid4()) for _ in bodies]
    return {"Records": [{
        "messageId": mid, "receiptHandle": f"AQEB{mid}", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764320000000",
                       "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1764320000001"},
        "messageAttributes": {}, "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:medcode-stage", "awsRegion": "us-east-1",
    } for mid, body in zip(ids, bodies, strict=True)]}


def drain(aws, stage: str) -> list[str]:
    out = []
    while True:
        resp = aws["sqs"].receive_message(QueueUrl=aws["urls"][stage], MaxNumberOfMessages=10)
        msgs = resp.get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(m["Body"])
            aws["sqs"].delete_message(QueueUrl=aws["urls"][stage], ReceiptHandle=m["ReceiptHandle"])


def audit_events(encounter_id: str) -> list:
    from handlers.aws import runtime
    from medcore.access import Principal, Role

    today = datetime.now(UTC).date()
    recs = runtime.audit_log().read(Principal("test:auditor", "default", Role.admin), "default",
                                    since=today - timedelta(days=1))
    return [r.event for r in recs if r.event.resource_id == encounter_id
            or r.event.detail.get("encounter") == encounter_id]


def coded_message(index: int, seed: int = 11) -> str:
    """A synthetic encounter already carrying its generator codes (the code stage's output shape)."""
    from handlers.messages import EncounterMessage
    from jobs.synthetic import encounter_at
    from medcore.model import CodeSuggestion

    s = encounter_at(index, seed)
    enc = s.encounter.model_copy(update={"diagnoses": [CodeSuggestion(code=c, rank=i) for i, c in enumerate(s.codes, 1)]})
    return EncounterMessage(job="t", encounter=enc).model_dump_json()


__all__ = ["LambdaContext", "audit_events", "coded_message", "drain", "json", "sqs_event"]
